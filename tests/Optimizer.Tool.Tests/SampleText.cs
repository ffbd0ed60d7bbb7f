using System.Text;

namespace Optimizer.Tool.Tests;

/// <summary>Deterministic English-like text of any length, for evaluation inputs.</summary>
public static class SampleText
{
    private static readonly string[] Words =
    {
        "the", "model", "reads", "a", "long", "text", "and", "every", "token", "is", "scored", "by", "its", "probability",
        "under", "weights", "that", "were", "written", "for", "this", "test", "with", "small", "layers", "of", "attention",
    };

    /// <summary>Exactly <paramref name="bytes"/> bytes (ASCII) of words, sentences and newlines, the same for the same arguments.</summary>
    public static string Create(int bytes, int seed = 7)
    {
        var random = new Random(seed);
        var text = new StringBuilder(bytes + 32);
        int inSentence = 0;
        while (text.Length < bytes)
        {
            string word = Words[random.Next(Words.Length)];
            text.Append(inSentence == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word);
            inSentence++;
            if (inSentence > 6 && random.Next(4) == 0)
            {
                text.Append(random.Next(5) == 0 ? ".\n" : ". ");
                inSentence = 0;
            }
            else
            {
                text.Append(' ');
            }
        }
        return text.ToString(0, bytes);
    }
}

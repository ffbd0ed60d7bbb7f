using System.Text;
using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Fixtures;

/// <summary>A fixed token sequence for forward passes over synthetic models: BOS, then the bytes of English prose.</summary>
internal static class CalibrationTokens
{
    public const string Text =
        "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want " +
        "of a wife. However little known the feelings or views of such a man may be on his first entering a " +
        "neighbourhood, this truth is so well fixed in the minds of the surrounding families.";

    /// <summary>BOS followed by the first <paramref name="length"/> − 1 bytes of <see cref="Text"/>.</summary>
    public static int[] Sequence(int length = 96)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Text);
        if (length < 2 || length - 1 > bytes.Length) throw new ArgumentOutOfRangeException(nameof(length));
        var tokens = new int[length];
        tokens[0] = ByteLevelVocabulary.BosId;
        for (int i = 1; i < length; i++) tokens[i] = bytes[i - 1];
        return tokens;
    }
}

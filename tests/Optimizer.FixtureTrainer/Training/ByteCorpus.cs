using Optimizer.Engine.Formats;
using static TorchSharp.torch;

namespace Optimizer.FixtureTrainer.Training;

/// <summary>
/// The byte-level training and held-out text with the window sampling the trainer uses: a window is
/// <c>&lt;s&gt;</c> followed by <c>length - 1</c> bytes of text; the targets are those bytes plus the next one, so every
/// window scores exactly <c>length</c> bytes (loss in nats per byte).
/// </summary>
internal sealed class ByteCorpus
{
    private ByteCorpus(byte[] train, byte[] heldOut)
    {
        Train = train;
        HeldOut = heldOut;
    }

    public byte[] Train { get; }
    public byte[] HeldOut { get; }

    /// <summary>Loads <c>austen-train.txt</c> and <c>austen-heldout.txt</c> from <paramref name="folder"/>.</summary>
    public static ByteCorpus Load(string folder)
    {
        string train = Path.Combine(folder, Corpus.CorpusCommand.TrainFile);
        string heldOut = Path.Combine(folder, Corpus.CorpusCommand.HeldOutFile);
        foreach (string path in new[] { train, heldOut })
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist; run scripts/fetch-corpus.sh first.");
        }
        return new ByteCorpus(File.ReadAllBytes(train), File.ReadAllBytes(heldOut));
    }

    /// <summary>A batch of random windows from <paramref name="text"/>: (inputs, targets), both [batch, length] int64.</summary>
    public static (Tensor Inputs, Tensor Targets) RandomBatch(byte[] text, int batch, int length, Random random)
    {
        if (text.Length < length + 1) throw new InvalidDataException($"The text ({text.Length} bytes) is shorter than one window ({length + 1} bytes).");
        var starts = new int[batch];
        for (int i = 0; i < batch; i++) starts[i] = random.Next(0, text.Length - length);
        return Build(text, starts, length);
    }

    /// <summary>
    /// <paramref name="count"/> fixed windows spread evenly over <paramref name="text"/> (deterministic), in batches of
    /// at most <paramref name="batch"/>.
    /// </summary>
    public static IEnumerable<(Tensor Inputs, Tensor Targets)> FixedBatches(byte[] text, int count, int batch, int length)
    {
        if (text.Length < length + 1) throw new InvalidDataException($"The text ({text.Length} bytes) is shorter than one window ({length + 1} bytes).");
        long span = text.Length - length;
        var starts = new int[count];
        for (int i = 0; i < count; i++) starts[i] = (int)(span * i / Math.Max(1, count));
        for (int first = 0; first < count; first += batch)
        {
            yield return Build(text, starts.AsSpan(first, Math.Min(batch, count - first)).ToArray(), length);
        }
    }

    private static (Tensor, Tensor) Build(byte[] text, int[] starts, int length)
    {
        var inputs = new long[starts.Length * length];
        var targets = new long[starts.Length * length];
        for (int i = 0; i < starts.Length; i++)
        {
            int s = starts[i], row = i * length;
            inputs[row] = ByteLevelVocabulary.BosId;
            for (int j = 1; j < length; j++) inputs[row + j] = text[s + j - 1];
            for (int j = 0; j < length; j++) targets[row + j] = text[s + j];
        }
        long[] shape = { starts.Length, length };
        return (tensor(inputs, shape), tensor(targets, shape));
    }
}

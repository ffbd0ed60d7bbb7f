using System.Globalization;
using System.Text;
using Optimizer.Engine.Formats;
using TorchSharp;
using static TorchSharp.torch;

namespace Optimizer.FixtureTrainer.Training;

/// <summary>
/// <c>sample</c>: continues a prompt with a saved model, one byte at a time (greedy at temperature 0, otherwise
/// sampling from the softmax at that temperature with a fixed seed). The context is <c>&lt;s&gt;</c> + prompt bytes,
/// truncated to the most recent positions the model supports (keeping <c>&lt;s&gt;</c> first).
/// </summary>
internal static class SampleCommand
{
    private static readonly string[] Known = { "model", "prompt", "tokens", "temperature", "seed", "threads" };

    public static int Run(string[] args)
    {
        var o = new CommandLineOptions(args, Known);
        string folder = o.Required("model");
        string prompt = o.String("prompt", "It is a truth universally acknowledged");
        int count = o.Int("tokens", 300, 1, 100000);
        double temperature = o.Double("temperature", 0, 0, 100);
        int seed = o.Int("seed", 1234);
        torch.set_num_threads(o.Int("threads", 2, 1, 256));

        using var model = Checkpoint.Load(folder);
        byte[] generated = Generate(model, Encoding.UTF8.GetBytes(prompt), count, temperature, new Random(seed));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"--- {folder}, temperature {temperature}, seed {seed} ---"));
        Console.WriteLine(prompt + Encoding.UTF8.GetString(generated));
        return 0;
    }

    /// <summary>Generates <paramref name="count"/> bytes after <paramref name="prompt"/>.</summary>
    internal static byte[] Generate(ByteLlama model, byte[] prompt, int count, double temperature, Random random)
    {
        var context = new List<long> { ByteLevelVocabulary.BosId };
        context.AddRange(prompt.Select(b => (long)b));
        var output = new List<byte>(count);
        int window = model.Config.MaxPositionEmbeddings;
        using var noGrad = no_grad();
        while (output.Count < count)
        {
            using var scope = NewDisposeScope();
            long[] ids = context.Count <= window
                ? context.ToArray()
                : new[] { (long)ByteLevelVocabulary.BosId }.Concat(context.Skip(context.Count - window + 1)).ToArray();
            var logits = model.forward(tensor(ids, new long[] { 1, ids.Length }))[0, ids.Length - 1];
            logits[ByteLevelVocabulary.BosId] = tensor(float.NegativeInfinity);
            int next = temperature == 0 ? (int)logits.argmax().item<long>() : Draw(logits, temperature, random);
            output.Add((byte)next);
            context.Add(next);
        }
        return output.ToArray();
    }

    private static int Draw(Tensor logits, double temperature, Random random)
    {
        float[] p = nn.functional.softmax(logits / temperature, 0).data<float>().ToArray();
        double u = random.NextDouble(), cumulative = 0;
        for (int i = 0; i < p.Length; i++)
        {
            cumulative += p[i];
            if (u < cumulative) return i;
        }
        return Array.FindLastIndex(p, v => v > 0);
    }
}

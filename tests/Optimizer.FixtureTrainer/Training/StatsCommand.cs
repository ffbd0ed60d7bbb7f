using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Optimizer.FixtureTrainer.Training;

/// <summary>
/// <c>stats</c>: runs fixed held-out windows through a saved model with activation observers and prints, per layer,
/// what the outlier literature looks for: for the <c>&lt;s&gt;</c> token (position 0) the largest |x| of the residual
/// stream (block output) and of y6 (down_proj input) with its channel and its ratio to that token's median |x|; the
/// same maxima over all other tokens for contrast; the down_proj weight that routes the top y6 unit into the residual;
/// and the channel-wise outliers at the attention input (channels whose mean |x| over ordinary tokens is far above the
/// median channel).
/// </summary>
internal static class StatsCommand
{
    private static readonly string[] Known = { "model", "corpus", "windows", "seq", "threads" };

    public static int Run(string[] args)
    {
        var o = new CommandLineOptions(args, Known);
        string folder = o.Required("model");
        var corpus = ByteCorpus.Load(o.String("corpus", ".corpus"));
        int windows = o.Int("windows", 8, 1, 4096);
        int seq = o.Int("seq", 256, 2, 1 << 16);
        torch.set_num_threads(o.Int("threads", 2, 1, 256));

        using var model = Checkpoint.Load(folder);
        var rows = new SortedDictionary<(int Layer, string Site), SiteStats>();
        model.SetObserver((layer, site, value) =>
        {
            if (!rows.TryGetValue((layer, site), out var stats)) rows[(layer, site)] = stats = new SiteStats();
            stats.Add(value);
        });
        var (inputs, targets) = ByteCorpus.FixedBatches(corpus.HeldOut, windows, windows, seq).Single();
        double loss;
        using (var noGrad = no_grad())
        {
            var logits = model.forward(inputs);
            loss = nn.functional.cross_entropy(logits.view(-1, model.Config.VocabSize), targets.view(-1)).item<float>();
        }
        model.SetObserver(null);

        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"{folder}: {windows} held-out windows of {seq} (<s> + {seq - 1} bytes); loss {loss:F4} nats/byte"));
        Console.WriteLine();
        Console.WriteLine("<s> token (position 0) vs all other tokens:  max|x| [channel]  median|x|  ratio");
        Console.WriteLine("layer  site       <s> max [ch]          <s> median   <s> ratio   others max [ch]       others median");
        foreach (var ((layer, site), s) in rows.Where(r => r.Key.Site is "y6" or "block_out").OrderBy(r => r.Key.Layer).ThenBy(r => r.Key.Site))
        {
            Console.WriteLine(string.Create(inv,
                $"{layer,5}  {site,-9}  {s.BosMax,10:G4} [{s.BosArg,4}]   {s.BosMedian,10:G4}   {s.BosMax / s.BosMedian,9:G4}   {s.OtherMax,10:G4} [{s.OtherArg,4}]   {s.OtherMedian,10:G4}"));
        }

        Console.WriteLine();
        int last = model.Config.NumHiddenLayers - 1;
        var tracked = rows[(last, "block_out")].BosTopChannels(3).ToArray();
        Console.WriteLine($"<s> residual stream (block output) in the last layer's top channels [{string.Join(", ", tracked)}], layer by layer; 'others' = max |x| of other tokens there");
        for (int layer = 0; layer <= last; layer++)
        {
            var s = rows[(layer, "block_out")];
            var cells = tracked.Select(c => string.Create(inv, $"ch {c}: {s.BosVector[c],9:G4} (others {s.OtherChannelMax[c]:G3})"));
            Console.WriteLine($"layer {layer}: {string.Join("   ", cells)}");
        }

        Console.WriteLine();
        Console.WriteLine("Super-weight candidates: for <s>'s top y6 unit u, the largest |down_proj[:, u]| entry (row = residual channel)");
        for (int layer = 0; layer < model.Config.NumHiddenLayers; layer++)
        {
            var s = rows[(layer, "y6")];
            using var column = model.layers[layer].down_proj.weight![.., s.BosArg].detach();
            long row = column.abs().argmax().item<long>();
            float w = column[row].item<float>();
            Console.WriteLine(string.Create(inv,
                $"layer {layer}: y6 unit {s.BosArg} (<s> value {s.BosSigned:G4}) -> down_proj[{row}, {s.BosArg}] = {w:G4}; contribution {w * s.BosSigned:G4}"));
        }

        Console.WriteLine();
        Console.WriteLine("Attention input (after input_layernorm), other tokens: top channels by mean|x| / median channel mean|x|; gamma = input_layernorm weight");
        for (int layer = 0; layer < model.Config.NumHiddenLayers; layer++)
        {
            var s = rows[(layer, "attn_in")];
            var gamma = model.layers[layer].input_layernorm.weight.detach().data<float>().ToArray();
            var top = s.TopChannels(3).Select(c => string.Create(inv, $"ch {c.Channel} {c.Ratio:F1}x (gamma {gamma[c.Channel]:G3})"));
            Console.WriteLine($"layer {layer}: {string.Join(", ", top)}");
        }
        return 0;
    }

    /// <summary>Accumulates one observer site's statistics over a batch.</summary>
    private sealed class SiteStats
    {
        public float BosMax, BosMedian, BosSigned, OtherMax, OtherMedian;
        public int BosArg, OtherArg;
        public float[] BosVector = Array.Empty<float>(), OtherChannelMax = Array.Empty<float>();
        private float[] _channelMeans = Array.Empty<float>();

        public void Add(Tensor value)
        {
            using var scope = NewDisposeScope();
            var abs = value.detach().abs();
            var bos = abs[0, 0];
            BosArg = (int)bos.argmax().item<long>();
            BosMax = bos[BosArg].item<float>();
            BosSigned = value[0, 0, BosArg].item<float>();
            BosMedian = bos.median().item<float>();
            var others = abs[.., 1..].reshape(-1, abs.shape[2]);
            long flat = others.argmax().item<long>();
            OtherArg = (int)(flat % abs.shape[2]);
            OtherMax = others.max().item<float>();
            OtherMedian = others.median().item<float>();
            _channelMeans = others.mean(new long[] { 0 }).data<float>().ToArray();
            OtherChannelMax = others.amax(new long[] { 0 }).data<float>().ToArray();
            BosVector = value[0, 0].detach().data<float>().ToArray();
        }

        public IEnumerable<int> BosTopChannels(int count) =>
            BosVector.Select((v, i) => (Abs: Math.Abs(v), Channel: i)).OrderByDescending(c => c.Abs).Take(count).Select(c => c.Channel);

        public IEnumerable<(int Channel, double Ratio)> TopChannels(int count)
        {
            var sorted = _channelMeans.OrderBy(v => v).ToArray();
            double median = sorted[sorted.Length / 2];
            return _channelMeans.Select((v, i) => (Channel: i, Ratio: v / median)).OrderByDescending(c => c.Ratio).Take(count);
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using Optimizer.Engine.Formats;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Optimizer.FixtureTrainer.Training;

/// <summary>
/// <c>train</c>: trains a byte-level Llama on the Austen corpus with AdamW (weight decay on matrices only), linear
/// warm-up then cosine decay to 10% of the peak rate, random <c>&lt;s&gt;</c>-prefixed windows, and saves the Hugging
/// Face folder every <c>--save-minutes</c> and at the end. With <c>--steps</c> the schedule is fixed by the step count
/// (fully reproducible); with only <c>--minutes</c> the total is re-estimated from the measured step time so that the
/// cosine ends at the time budget.
/// </summary>
internal static class TrainCommand
{
    private static readonly string[] Known =
    {
        "corpus", "out", "minutes", "steps", "seed", "batch", "seq", "lr", "warmup", "weight-decay", "eval-every",
        "eval-windows", "save-minutes", "threads", "layers", "hidden", "heads", "kv-heads", "intermediate",
    };

    public static int Run(string[] args)
    {
        var o = new CommandLineOptions(args, Known);
        string corpusDir = o.String("corpus", ".corpus");
        string outDir = o.Required("out");
        double minutes = o.Double("minutes", 35, 0.1, 24 * 60);
        int steps = o.Int("steps", 0, 0);
        int seed = o.Int("seed", 1234);
        int batch = o.Int("batch", 16, 1, 4096);
        int seq = o.Int("seq", 256, 2, 1 << 16);
        double peakLr = o.Double("lr", 3e-3, 1e-7, 1);
        int warmup = o.Int("warmup", 100, 0);
        double weightDecay = o.Double("weight-decay", 0.1, 0, 10);
        int evalEvery = o.Int("eval-every", 100, 1);
        int evalWindows = o.Int("eval-windows", 64, 1, 100000);
        double saveMinutes = o.Double("save-minutes", 5, 0.1, 24 * 60);
        int threads = o.Int("threads", 2, 1, 256);
        var config = new ModelConfig
        {
            Architectures = new[] { "LlamaForCausalLM" },
            ModelType = "llama",
            VocabSize = ByteLevelVocabulary.Size,
            HiddenSize = o.Int("hidden", 256, 2),
            IntermediateSize = o.Int("intermediate", 688, 1),
            NumHiddenLayers = o.Int("layers", 6, 1),
            NumAttentionHeads = o.Int("heads", 8, 1),
            NumKeyValueHeads = o.Int("kv-heads", 4, 1),
            RmsNormEps = 1e-5,
            RopeTheta = 10000,
            MaxPositionEmbeddings = Math.Max(512, seq),
            TieWordEmbeddings = true,
            BosTokenId = ByteLevelVocabulary.BosId,
            TorchDtype = "float32",
        };
        config.Validate(Path.Combine(outDir, Checkpoint.ConfigFile));

        var corpus = ByteCorpus.Load(corpusDir);
        if (threads > 1 && Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
            Console.WriteLine("note: OMP_WAIT_POLICY is not set; on a shared, busy machine OMP_WAIT_POLICY=PASSIVE avoids spinning threads (2-10x faster there)");
        torch.set_num_threads(threads);
        torch.manual_seed(seed);
        var random = new Random(seed);
        using var model = new ByteLlama(config);
        model.Initialize();
        long parameters = model.parameters().Sum(p => p.numel());
        Console.WriteLine($"model: {config.NumHiddenLayers} layers, hidden {config.HiddenSize}, heads {config.NumAttentionHeads}/{config.KeyValueHeads}, " +
                          $"intermediate {config.IntermediateSize}, {parameters:N0} parameters");
        Console.WriteLine($"corpus: {corpus.Train.Length:N0} train bytes, {corpus.HeldOut.Length:N0} held-out bytes; batch {batch}x{seq}, " +
                          $"lr {peakLr} warmup {warmup}, weight decay {weightDecay}, {threads} threads, seed {seed}, " +
                          (steps > 0 ? $"{steps} steps or {minutes} min" : $"{minutes} min"));

        var decayed = new List<Parameter>();
        var plain = new List<Parameter>();
        foreach (var p in model.parameters()) (p.dim() >= 2 ? decayed : plain).Add(p);
        var groups = new[]
        {
            new AdamW.ParamGroup(decayed, new AdamW.Options { LearningRate = peakLr, weight_decay = weightDecay }),
            new AdamW.ParamGroup(plain, new AdamW.Options { LearningRate = peakLr, weight_decay = 0 }),
        };
        using var optimizer = torch.optim.AdamW(groups, peakLr, beta1: 0.9, beta2: 0.95, eps: 1e-8);

        var clock = Stopwatch.StartNew();
        double budget = minutes * 60, lastSave = 0, stepSecondsAvg = 0, lossSum = 0;
        int lossCount = 0, step = 0;
        long tokens = 0;
        double lastEval = double.NaN;
        model.train();
        while ((steps == 0 || step < steps) && clock.Elapsed.TotalSeconds < budget)
        {
            double stepStart = clock.Elapsed.TotalSeconds;
            double total = steps > 0 ? steps : EstimateTotal(step, budget - stepStart, stepSecondsAvg, warmup);
            double lr = LearningRate(step, total, warmup, peakLr);
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;

            using (var scope = NewDisposeScope())
            {
                var (inputs, targets) = ByteCorpus.RandomBatch(corpus.Train, batch, seq, random);
                var logits = model.forward(inputs);
                var loss = nn.functional.cross_entropy(logits.view(-1, config.VocabSize), targets.view(-1));
                optimizer.zero_grad();
                loss.backward();
                nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                optimizer.step();
                lossSum += loss.item<float>();
                lossCount++;
            }
            step++;
            tokens += (long)batch * seq;
            double took = clock.Elapsed.TotalSeconds - stepStart;
            stepSecondsAvg = stepSecondsAvg == 0 ? took : 0.95 * stepSecondsAvg + 0.05 * took;

            bool last = (steps > 0 && step >= steps) || clock.Elapsed.TotalSeconds >= budget;
            if (step % evalEvery == 0 || last)
            {
                lastEval = Evaluate(model, corpus.HeldOut, evalWindows, batch, seq);
                double elapsed = clock.Elapsed.TotalSeconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"step {step,6}  train {lossSum / lossCount:F4}  held-out {lastEval:F4} nats/byte (ppl {Math.Exp(lastEval):F3})  " +
                    $"lr {lr:E2}  {tokens / elapsed:F0} tok/s  {elapsed / 60:F1} min  est. total {total:F0} steps"));
                lossSum = 0;
                lossCount = 0;
                model.train();
            }
            if (last || clock.Elapsed.TotalSeconds - lastSave >= saveMinutes * 60)
            {
                Save(model, outDir, step, tokens, seed, lastEval);
                lastSave = clock.Elapsed.TotalSeconds;
                Console.WriteLine($"checkpoint saved to {outDir} at step {step}");
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: {step} steps, {tokens:N0} tokens, {clock.Elapsed.TotalMinutes:F1} min, held-out {lastEval:F4} nats/byte, perplexity per byte {Math.Exp(lastEval):F3}"));
        return 0;
    }

    /// <summary>Mean cross-entropy (nats per byte) over fixed held-out windows.</summary>
    internal static double Evaluate(ByteLlama model, byte[] text, int windows, int batch, int seq)
    {
        model.eval();
        using var noGrad = no_grad();
        double sum = 0;
        long count = 0;
        foreach (var (inputs, targets) in ByteCorpus.FixedBatches(text, windows, batch, seq))
        {
            using var scope = NewDisposeScope();
            var logits = model.forward(inputs);
            var loss = nn.functional.cross_entropy(logits.view(-1, model.Config.VocabSize), targets.view(-1), reduction: nn.Reduction.Sum);
            sum += loss.item<float>();
            count += targets.numel();
        }
        return sum / count;
    }

    /// <summary>Linear warm-up to <paramref name="peak"/>, then cosine decay to 10% of it at <paramref name="total"/> steps.</summary>
    internal static double LearningRate(int step, double total, int warmup, double peak)
    {
        if (step < warmup) return peak * (step + 1) / warmup;
        double progress = Math.Clamp((step - warmup) / Math.Max(1.0, total - warmup), 0, 1);
        return peak * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    private static double EstimateTotal(int step, double remainingSeconds, double stepSeconds, int warmup) =>
        stepSeconds <= 0 ? double.MaxValue : Math.Max(warmup + 1, step + remainingSeconds / stepSeconds);

    private static void Save(ByteLlama model, string folder, int step, long tokens, int seed, double heldOut)
    {
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["trainer"] = "tests/Optimizer.FixtureTrainer",
            ["steps"] = step.ToString(CultureInfo.InvariantCulture),
            ["tokens"] = tokens.ToString(CultureInfo.InvariantCulture),
            ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
        };
        if (!double.IsNaN(heldOut)) metadata["heldout_nats_per_byte"] = heldOut.ToString("F4", CultureInfo.InvariantCulture);
        Checkpoint.Save(model, folder, metadata);
    }
}

using System.Diagnostics;
using System.Globalization;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Quantization.ErrorCompensation;

namespace Optimizer.Bench;

/// <summary>
/// Cost of error-compensating rounding (issue 11): <see cref="LayerwiseCompensation.Run"/> on a synthetic model for a
/// recipe, against plain <see cref="GgmlQuantizer.QuantizeMatrix(GgmlType, ReadOnlySpan{float}, long, long)"/> of the same
/// tensors (the seven linear weights of every layer, in the types the recipe gives them). Each (model, recipe) runs in
/// its own child process (the bench's hidden <c>compensate-child</c> mode), so its peak RSS is its own: the child reads its
/// VmHWM from /proc/self/status after loading and the plain pass, resets it (<c>/proc/self/clear_refs</c> ← 5), runs the
/// compensation and reads it again; the parent also samples the child's VmHWM over the whole run. Runs are interleaved
/// (every size and recipe once per run).
/// </summary>
public static class CompensationBench
{
    /// <summary>The recipes measured.</summary>
    public static readonly string[] Recipes = { "Q4_0", "Q4_K_M" };

    /// <summary>Calibration: 8 sequences × 128 tokens of the corpus text, batches of 4 (as `optimize` by default).</summary>
    public const int Tokens = 1024, SequenceLength = 128, BatchSize = 4;

    private static readonly TensorRole[] Linears = { TensorRole.Q, TensorRole.K, TensorRole.V, TensorRole.O, TensorRole.Gate, TensorRole.Up, TensorRole.Down };

    /// <summary>Measures every size × recipe <paramref name="runs"/> times and appends the table.</summary>
    public static void Run(ReportTable report, string work, string calibrationText, IReadOnlyList<string> sizes, int runs, int? maxLayers = null)
    {
        if (!File.Exists(calibrationText))
            throw new FileNotFoundException($"The calibration text {calibrationText} is missing (scripts/fetch-corpus.sh).", calibrationText);
        string self = typeof(CompensationBench).Assembly.Location;
        var cases = sizes.SelectMany(size => Recipes.Select(recipe => (Size: size, Recipe: recipe))).ToArray();
        var folders = sizes.ToDictionary(s => s, s => SyntheticSizes.Folder(work, s));
        var results = cases.ToDictionary(c => c, _ => new List<ChildResult>());
        var failures = new Dictionary<(string, string), string>();
        for (int run = 0; run < runs; run++)
        {
            foreach (var c in cases)
            {
                if (failures.ContainsKey(c)) continue;
                Console.Error.WriteLine($"bench: compensation {c.Size} {c.Recipe}, run {run + 1} of {runs} ({DateTime.UtcNow:HH:mm:ss} UTC)");
                var (exit, peak, anon, file, seconds, error, stdout) = MemoryBench.RunChildWithOutput(self,
                    new[] { "compensate-child", folders[c.Size], c.Recipe, calibrationText, (maxLayers ?? 0).ToString(CultureInfo.InvariantCulture) });
                var parsed = exit == 0 ? ChildResult.Parse(stdout, peak, anon, file, seconds) : null;
                if (parsed is null) failures[c] = exit == 0 ? "no result line from the child" : $"exit {exit}: {error}";
                else results[c].Add(parsed);
            }
        }

        var rows = new List<string[]>();
        foreach (var c in cases)
        {
            var (hidden, layers, intermediate) = Shape(c.Size);
            if (failures.TryGetValue(c, out string? why) && results[c].Count == 0)
            {
                rows.Add(new[] { c.Size, c.Recipe, $"failed: {why}", "", "", "", "", "", "", "", "", "", "", "", "" });
                continue;
            }
            var r = results[c];
            Sample S(Func<ChildResult, double> f)
            {
                var s = new Sample();
                foreach (var x in r) s.Add(f(x));
                return s;
            }
            var compensated = S(x => x.CompensateSeconds);
            var plain = S(x => x.PlainSeconds);
            var weighted = S(x => x.WeightedSeconds);
            var ratio = S(x => x.CompensateSeconds / x.PlainSeconds);
            // A capped run encodes only its layers; the estimate is for the whole model's encodings.
            long encodedBytes = r[0].EncodedBytes * layers / r[0].Layers;
            long estimate = Estimate(hidden, intermediate, encodedBytes);
            rows.Add(new[]
            {
                c.Size, c.Recipe, $"{r[0].Layers} of {layers}", $"{r[0].Compensated} of {r[0].Linears}", compensated.Format("F1"),
                S(x => x.CompensateSeconds / x.Layers).Format("F1"), plain.Format("F2"), weighted.Format("F2"), ratio.Format("F0") + "×",
                Mib(S(x => x.RssBefore)), Mib(S(x => x.CompensatePeak)), Mib(S(x => x.ChildPeak)), Mib(S(x => x.MaxAnon)), Mib(S(x => x.MaxFile)), Mib(estimate),
            });
        }
        report.Heading($"Error-compensating rounding: {Tokens} calibration tokens ({Tokens / SequenceLength} × {SequenceLength}, batches of {BatchSize}), {runs} run(s)");
        report.Note("`LayerwiseCompensation.Run` (layer by layer: Hessians of each layer's linear inputs through the quantized earlier layers, " +
                    "then the seven linear weights compensated column by column) vs `GgmlQuantizer.QuantizeMatrix` of the same seven linear weights " +
                    "of every layer in the recipe's types, without and with an importance vector (the compensated path searches scales with the " +
                    "Hessian's diagonal as importance). Weights read from the model's mmap-ed safetensors are outside the plain timings, inside " +
                    "the compensated one. Each case is its own child process; peak RSS = VmHWM after a reset just before the compensation " +
                    "(model open, calibration tokenized, plain passes done); child VmHWM and the largest RssAnon (heap, native) and " +
                    "RssFile (mmap-ed weights) are sampled by the parent every 20 ms over the whole child. Estimate = residual streams (tokens × hidden × 4 B) + one layer's " +
                    "Hessians (3 × hidden² + intermediate² float64) + the encodings of every linear weight." +
                    (maxLayers is null ? "" : $" Capped at the first {maxLayers} layer(s) (`--compensation-layers`): the timings cover those layers' " +
                        "tensors only (per-layer time × layers extrapolates the model; the layers have equal shapes), and the peak misses the " +
                        "later layers' encodings (the estimate counts all of them)."));
        report.Table(new[]
        {
            "model", "recipe", "layers", "linears compensated", "compensated s, median (min–max)", "compensated s per layer", "plain QuantizeMatrix s", "QuantizeMatrix + importance s",
            "compensated / plain", "RSS before (MiB)", "peak RSS compensating (MiB)", "child VmHWM (MiB)", "max RssAnon", "max RssFile", "estimate (MiB)",
        }, rows);
        if (results.Values.SelectMany(r => r).Any(r => !r.Reset))
            report.Note("The kernel refused the VmHWM reset in some child: its \"peak RSS compensating\" is the whole child's peak.");
        foreach (var ((size, recipe), why) in failures)
            report.Note($"{size} {recipe}: {why}");
    }

    /// <summary>Residual streams + one layer's Hessians + encodings, in bytes.</summary>
    private static long Estimate(int hidden, int intermediate, long encodedBytes)
        => (long)Tokens * hidden * 4 + (3L * hidden * hidden + (long)intermediate * intermediate) * 8 + encodedBytes;

    private static (int Hidden, int Layers, int Intermediate) Shape(string size)
    {
        var s = SyntheticSizes.All.First(x => x.Name == size);
        return (s.Hidden, s.Layers, s.Intermediate);
    }

    private static string Mib(double bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);

    private static string Mib(Sample sample) => sample.Count == 0 ? "n/a"
        : sample.Count == 1 ? Mib(sample.Median) : $"{Mib(sample.Median)} ({Mib(sample.Min)}–{Mib(sample.Max)})";

    /// <summary>
    /// The child: <c>compensate-child MODEL RECIPE TEXT</c>. Prints one <c>result</c> line of key=value pairs (seconds and
    /// bytes) on stdout; exit 0 on success.
    /// </summary>
    public static int Child(IReadOnlyList<string> args)
    {
        if (args.Count != 4)
        {
            Console.Error.WriteLine("usage: Optimizer.Bench compensate-child MODEL RECIPE CALIBRATION_TEXT MAX_LAYERS (0: all)");
            return 2;
        }
        string folder = args[0], recipeText = args[1], text = args[2];
        int maxLayers = int.Parse(args[3], CultureInfo.InvariantCulture);
        using var model = ModelFolder.Open(folder);
        var config = model.Config;
        var recipe = QuantizationRecipe.Parse(recipeText);
        var target = new GgufRoundTrip(recipe, config);
        var calibration = TextCalibration.Build(model.Tokenizer, new CalibrationOptions
        {
            Paths = new[] { text }, Tokens = Tokens, SequenceLength = SequenceLength,
        });
        if (calibration.TokenCount != Tokens) throw new InvalidOperationException($"{calibration.TokenCount} calibration tokens, not {Tokens}.");

        // The tensors LayerwiseCompensation writes itself: the linear weights in a type with a block grid and whole blocks.
        var shapes = LlamaTensorNames.Expected(config).ToDictionary(t => (t.Role, t.Layer), t => (t.Name, t.Shape));
        var tensors = new List<(string Name, int Rows, int Cols, GgmlType Type)>();
        int layers = maxLayers > 0 ? Math.Min(maxLayers, config.NumHiddenLayers) : config.NumHiddenLayers;
        for (int layer = 0; layer < layers; layer++)
        {
            foreach (TensorRole role in Linears)
            {
                var (name, shape) = shapes[(role, layer)];
                GgmlType type = target.TypeOf(name) ?? GgmlType.F32;
                if (ErrorCompensatedRounding.Supports(type, shape[1])) tensors.Add((name, checked((int)shape[0]), checked((int)shape[1]), type));
            }
        }

        // Warm-up (JIT) of both quantizer paths on a small matrix of every type used, outside the timings.
        foreach (GgmlType type in tensors.Select(t => t.Type).Distinct())
        {
            var small = new float[16 * 256];
            for (int i = 0; i < small.Length; i++) small[i] = MathF.Sin(i);
            var ones = Enumerable.Repeat(1f, 256).ToArray();
            GgmlQuantizer.QuantizeMatrix(type, small, 16, 256);
            GgmlQuantizer.QuantizeMatrix(type, small, 16, 256, ones);
        }

        // Plain and importance-weighted QuantizeMatrix over the same tensors (weights read outside the timing).
        double plain = 0, weighted = 0;
        foreach (var (name, rows, cols, type) in tensors)
        {
            float[] values = TensorData.ReadFloat32(model.Weights, model.Weights.Find(name)!);
            var importance = new float[cols];
            for (int i = 0; i < cols; i++) importance[i] = 1f + (i % 7);
            var watch = Stopwatch.StartNew();
            GgmlQuantizer.QuantizeMatrix(type, values, rows, cols);
            plain += watch.Elapsed.TotalSeconds;
            watch.Restart();
            GgmlQuantizer.QuantizeMatrix(type, values, rows, cols, importance);
            weighted += watch.Elapsed.TotalSeconds;
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long before = StatusBytes("VmRSS:");
        bool reset = ResetPeak();

        // A capped run stops at the cancellation check that starts the next layer, right after the progress report of the last one.
        using var stop = new CancellationTokenSource();
        var progress = new Progress(config.NumHiddenLayers, layers, stop);
        var timer = Stopwatch.StartNew();
        double compensate;
        long encodedBytes;
        int compensated, linears;
        try
        {
            var (encoded, records) = LayerwiseCompensation.Run(config, model.Weights, target, calibration.Sequences, BatchSize, new ModelOptions(),
                progress, stop.Token);
            compensate = timer.Elapsed.TotalSeconds;
            encodedBytes = encoded.Tensors.Values.Sum(t => t.Bytes.LongLength);
            compensated = records.Count(r => r.Damping is not null);
            linears = records.Count;
        }
        catch (OperationCanceledException) when (layers < config.NumHiddenLayers && progress.Done == layers)
        {
            // The partial encodings are not returned; their size is the recipe's row bytes of the eligible tensors.
            compensate = timer.Elapsed.TotalSeconds;
            encodedBytes = tensors.Sum(t => t.Rows * GgmlQuantizer.RowBytes(t.Type, t.Cols));
            compensated = tensors.Count;
            linears = layers * Linears.Length;
        }
        long peak = StatusBytes("VmHWM:");
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"result compensate={compensate:R} plain={plain:R} weighted={weighted:R} before={before} peak={peak} reset={reset} " +
            $"encoded={encodedBytes} compensated={compensated} linears={linears} eligible={tensors.Count} layers={layers}"));
        return 0;
    }

    /// <summary>Resets VmHWM to the current RSS (Linux ≥ 4.0); false where the kernel does not allow it.</summary>
    private static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long StatusBytes(string key)
    {
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Layers done, on stderr (the parent keeps only its last line for errors).</summary>
    private sealed class Progress(int layers, int stopAfter, CancellationTokenSource stop) : IProgress<CompensationProgress>
    {
        private readonly Stopwatch _watch = Stopwatch.StartNew();

        public int Done { get; private set; }

        public void Report(CompensationProgress value)
        {
            // Called synchronously by LayerwiseCompensation (not Progress<T>, which would post to the thread pool).
            Done = value.Done;
            Console.Error.WriteLine($"compensate-child: {value.Done}/{layers} layers, {_watch.Elapsed.TotalSeconds:F0} s");
            if (value.Done >= stopAfter && stopAfter < layers) stop.Cancel();
        }
    }

    /// <summary>One child's measurements.</summary>
    private sealed record ChildResult(double CompensateSeconds, double PlainSeconds, double WeightedSeconds, double RssBefore, double CompensatePeak,
        double ChildPeak, double WallSeconds, long EncodedBytes, int Compensated, int Linears, bool Reset, int Layers, double MaxAnon, double MaxFile)
    {
        public static ChildResult? Parse(string stdout, long childPeak, long anon, long file, double wall)
        {
            string? line = stdout.Split('\n').LastOrDefault(l => l.StartsWith("result ", StringComparison.Ordinal));
            if (line is null) return null;
            var v = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            double D(string k) => double.Parse(v[k], CultureInfo.InvariantCulture);
            return new ChildResult(D("compensate"), D("plain"), D("weighted"), D("before"), D("peak"), childPeak, wall,
                long.Parse(v["encoded"], CultureInfo.InvariantCulture), int.Parse(v["compensated"], CultureInfo.InvariantCulture),
                int.Parse(v["linears"], CultureInfo.InvariantCulture), v["reset"] == "True",
                int.Parse(v["layers"], CultureInfo.InvariantCulture), anon, file);
        }
    }
}

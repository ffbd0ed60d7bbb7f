using Optimizer.Engine.Formats;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Inspect;

/// <summary>The human form of a <see cref="ModelSummary"/>: aligned key/value lines and tables, invariant culture.</summary>
public static class ModelSummaryText
{
    /// <summary>Writes the summary to <paramref name="writer"/>.</summary>
    public static void Write(ModelSummary summary, TextWriter writer, bool includeTensors = true)
    {
        var c = summary.Config;
        string architectures = c.Architectures is { Length: > 0 } a ? $" ({string.Join(", ", a)})" : "";
        writer.WriteLine($"Model: {summary.Name}");
        writer.WriteLine();
        writer.WriteLine("Architecture");
        var arch = new List<(string, string)>
        {
            ("model type", c.ModelType + architectures),
            ("layers", Units.Count(c.NumHiddenLayers)),
            ("hidden size", Units.Count(c.HiddenSize)),
            ("attention heads", Units.Count(c.NumAttentionHeads)),
            ("key/value heads", Units.Count(c.KeyValueHeads) + (c.KeyValueHeads < c.NumAttentionHeads ? " (grouped-query attention)" : "")),
            ("head dim", Units.Count(c.HeadDim)),
            ("intermediate size", Units.Count(c.IntermediateSize)),
            ("vocabulary", Units.Count(c.VocabSize)),
            ("max positions", Units.Count(c.MaxPositionEmbeddings)),
            ("rope theta", Units.Exact(c.RopeTheta)),
            ("rms norm eps", Units.Exact(c.RmsNormEps)),
            ("tied embeddings", YesNo(c.TieWordEmbeddings)),
            ("q/k/v bias", YesNo(c.HasQkvBias)),
            ("o bias", YesNo(c.HasOutputBias)),
        };
        // Family features only where the model has them, so a plain Llama's summary is unchanged.
        if (c.RopeFrequencyDivisors is not null) arch.Add(("rope scaling", "per-pair divisors (rope_freqs)"));
        else if (c.Rope is { Kind: not RopeScalingKind.None } rope) arch.Add(("rope scaling", RopeText(rope)));
        if (c.HasQkNorm) arch.Add(("q/k norm", "per head"));
        if (c.TorchDtype is { } torchDtype) arch.Add(("torch dtype", torchDtype));
        WritePairs(writer, arch);
        writer.WriteLine();

        WritePairs(writer, new[]
        {
            ("Parameters", $"{Units.Count(summary.ParameterCount)} ({Units.ShortCount(summary.ParameterCount)})"),
            ("Tokenizer", summary.TokenizerKind),
        }, indent: "");
        writer.WriteLine();

        writer.WriteLine("Data types");
        var dtypes = new TextTable("DTYPE", ">TENSORS", ">ELEMENTS", ">SIZE");
        foreach (var row in summary.DTypes)
            dtypes.AddRow(row.DType, Units.Count(row.Tensors), Units.Count(row.Elements), Units.Bytes(row.Bytes));
        dtypes.Write(writer);
        writer.WriteLine();

        writer.WriteLine($"Files ({summary.Files.Count}, {Units.Bytes(summary.TotalBytes)})");
        var files = new TextTable("FILE", ">SIZE");
        foreach (var file in summary.Files) files.AddRow(file.Name, Units.Bytes(file.Bytes));
        files.Write(writer);

        if (!includeTensors) return;
        writer.WriteLine();
        writer.WriteLine($"Tensors ({summary.Tensors.Count})");
        var tensors = new TextTable("NAME", "DTYPE", "SHAPE", ">SIZE");
        foreach (var t in summary.Tensors) tensors.AddRow(t.Name, summary.StorageOf(t).Type, t.ShapeText, Units.Bytes(summary.StorageOf(t).Bytes));
        tensors.Write(writer);
    }

    private static string YesNo(bool value) => value ? "yes" : "no";

    private static void WritePairs(TextWriter writer, IEnumerable<(string Key, string Value)> pairs, string indent = "  ")
    {
        var list = pairs.ToList();
        int width = list.Max(p => p.Key.Length) + 1;
        foreach (var (key, value) in list) writer.WriteLine($"{indent}{(key + ":").PadRight(width + 1)}{value}");
    }

    private static string RopeText(RopeScaling rope) => rope.Kind == RopeScalingKind.Llama3
        ? $"llama3 (factor {Units.Exact(rope.Factor)}, low {Units.Exact(rope.LowFrequencyFactor)}, high {Units.Exact(rope.HighFrequencyFactor)}, original context {Units.Count(rope.OriginalContext)})"
        : $"{rope.TypeName} (factor {Units.Exact(rope.Factor)})";
}

using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization;

namespace Optimizer.LlamaCpp.Tests.Quantization;

/// <summary>
/// llama.cpp as the judge of the quantization kernels: a model exported as F32 GGUF is quantized by llama.cpp's own
/// quantizer (<c>llama_model_quantize</c> through LLamaSharp), and every tensor it stored in a type we implement must have
/// exactly the bytes <see cref="GgmlQuantizer"/> produces from the same F32 data. Then our own export with the matching
/// recipe must hold the same tensor types and bytes as llama.cpp's file.
/// </summary>
public sealed class ByteIdentityTests : IClassFixture<LlamaQuantizedFiles>
{
    private static readonly HashSet<GgmlType> Implemented = Enum.GetValues<GgmlType>().ToHashSet();
    private readonly LlamaQuantizedFiles _files;

    public ByteIdentityTests(LlamaQuantizedFiles files) => _files = files;

    private static readonly string[] Legacy = { "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0" };
    private static readonly string[] KQuants = { "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K" };
    private static readonly string[] Floats = { "F16", "BF16", "F32" };
    private static readonly string[] Every = Legacy.Concat(KQuants).Concat(Floats).ToArray();

    // Every recipe on every model, except that llama.cpp refuses the legacy types for austen, whose ffn_down rows (688)
    // are not whole blocks of 32 (see Llama_cpp_refuses_rows_that_are_not_whole_blocks_where_we_fall_back_to_F16).
    public static TheoryData<string, string> KernelCases() => Cases(
        ("synthetic", Every),
        ("gqa672", Every),
        ("h160", Every),
        ("phimini256", Every),
        ("austen", KQuants.Concat(Floats).ToArray()));

    public static TheoryData<string, string> FileCases() => KernelCases();

    private static TheoryData<string, string> Cases(params (string Model, string[] Recipes)[] cases)
    {
        var data = new TheoryData<string, string>();
        foreach (var (model, recipes) in cases)
            foreach (string recipe in recipes)
                data.Add(model, recipe);
        return data;
    }

    [Theory]
    [MemberData(nameof(KernelCases))]
    public void Every_tensor_llama_cpp_quantizes_has_our_kernel_bytes(string model, string recipeText)
    {
        var recipe = QuantizationRecipe.Parse(recipeText);
        string f32Path = _files.F32(model);
        string llamaPath = QuantizeWithLlamaCpp(model, recipe);
        using var f32 = GgufFile.Open(f32Path);
        using var reference = GgufFile.Open(llamaPath);

        var mismatches = new List<string>();
        var compared = new Dictionary<GgmlType, int>();
        foreach (GgufTensorInfo t in reference.Tensors)
        {
            if (!Implemented.Contains(t.Type))
                continue;
            GgufTensorInfo source = f32.Find(t.Name) ?? throw new InvalidOperationException($"{t.Name} is not in the F32 file.");
            Assert.Equal(GgmlType.F32, source.Type);
            float[] values = MemoryMarshal.Cast<byte, float>(f32.GetSpan(source)).ToArray();
            long cols = t.Dimensions[0], rows = t.ElementCount / cols;
            byte[] ours = GgmlQuantizer.QuantizeMatrix(t.Type, values, rows, cols);
            string? diff = FirstDifference(t, reference.GetSpan(t), ours, values);
            if (diff is not null)
                mismatches.Add(diff);
            compared[t.Type] = compared.GetValueOrDefault(t.Type) + 1;
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} tensor(s) differ from llama.cpp:\n{string.Join("\n", mismatches)}");
        // h160 has no row that is whole K-quant blocks: there every tensor is a fallback type.
        if (model != "h160" || GgmlTypes.BlockSize(recipe.DefaultType) < 256)
            Assert.True(compared.GetValueOrDefault(recipe.DefaultType) > 0,
                $"llama.cpp stored no tensor as {GgmlTypes.Name(recipe.DefaultType)}; types seen: {string.Join(", ", compared.Keys)}");
    }

    [Theory]
    [MemberData(nameof(FileCases))]
    public void Our_export_has_llama_cpps_tensor_types_and_bytes(string model, string recipeText)
    {
        var recipe = QuantizationRecipe.Parse(recipeText);
        string llamaPath = QuantizeWithLlamaCpp(model, recipe);
        string oursPath = Path.Combine(_files.Scratch, $"{model}-{recipe.BaseName}-ours.gguf");
        using (ModelFolder folder = QuantizationModels.Open(model, _files.Scratch))
            LlamaGgufExporter.Export(folder, folder.Weights, recipe, oursPath, null, CancellationToken.None);
        using var ours = GgufFile.Open(oursPath);
        using var reference = GgufFile.Open(llamaPath);

        Assert.Equal(reference.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal), ours.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        var problems = new List<string>();
        foreach (GgufTensorInfo r in reference.Tensors)
        {
            GgufTensorInfo o = ours.Find(r.Name)!;
            if (o.Type != r.Type)
                problems.Add($"{r.Name}: llama.cpp {GgufTensorTypes.Name(r.Type)}, ours {GgufTensorTypes.Name(o.Type)}");
            else if (!reference.GetSpan(r).SequenceEqual(ours.GetSpan(o)))
                problems.Add($"{r.Name} ({GgufTensorTypes.Name(r.Type)}): bytes differ at {reference.GetSpan(r).CommonPrefixLength(ours.GetSpan(o))}");
        }
        Assert.True(problems.Count == 0, $"{problems.Count} tensor(s) differ from llama.cpp's {recipe.BaseName} file:\n{string.Join("\n", problems)}");
        Assert.Equal((long)recipe.FileType, reference.Metadata.GetInteger("general.file_type"));
        Assert.Equal((long)recipe.FileType, ours.Metadata.GetInteger("general.file_type"));
    }

    [Theory]
    [InlineData("Q8_0")]
    [InlineData("Q4_0")]
    [InlineData("Q4_1")]
    [InlineData("Q5_0")]
    [InlineData("Q5_1")]
    public void Llama_cpp_refuses_rows_that_are_not_whole_blocks_where_we_fall_back_to_F16(string recipeText)
    {
        var recipe = QuantizationRecipe.Parse(recipeText);
        var (status, _, log) = _files.Quantized("austen", recipe.FileType);
        Assert.NotEqual(0u, status);
        Assert.Contains("no tensor type fallback", log);

        string oursPath = Path.Combine(_files.Scratch, $"austen-{recipe.BaseName}-ours.gguf");
        using (ModelFolder folder = QuantizationModels.Open("austen", _files.Scratch))
            LlamaGgufExporter.Export(folder, folder.Weights, recipe, oursPath, null, CancellationToken.None);
        using var ours = GgufFile.Open(oursPath);
        Assert.Equal(GgmlType.F16, ours.Find("blk.0.ffn_down.weight")!.Type);   // rows of 688: our documented fallback
        Assert.Equal(recipe.DefaultType, ours.Find("blk.0.ffn_up.weight")!.Type); // rows of 256
    }

    // llama.cpp's quantizer with an importance matrix (llama.h's llama_model_imatrix_data array): the recipe's
    // imatrix-dependent choice (Q4_0/Q5_0: ffn_down of the first n/8 layers Q4_1/Q5_1) and the importance-weighted bytes.
    [Theory]
    [InlineData("gqa672", "Q4_0")]
    [InlineData("gqa672", "Q5_0")]
    [InlineData("gqa672", "Q4_K_M")]
    [InlineData("synthetic", "Q4_0")]
    public void With_an_importance_matrix_llama_cpp_chooses_our_types_and_bytes(string model, string recipeText)
    {
        var recipe = QuantizationRecipe.Parse(recipeText);
        using var f32 = GgufFile.Open(_files.F32(model));
        // Every 2-D weight but the token embedding (llama.cpp's imatrix tool collects none for it) gets one positive
        // value per column; the values vary by column and tensor.
        var importance = f32.Tensors.Where(t => t.Dimensions.Length == 2 && t.Name != "token_embd.weight")
            .ToDictionary(t => t.Name, t => Importance(t.Name, t.Dimensions[0]));
        var (status, llamaPath, log) = _files.QuantizedWithImportance(model, recipe.FileType, importance);
        Assert.True(status == 0, $"llama.cpp could not quantize {model} to {recipe.BaseName} with an imatrix (status {status}):\n{log}");
        using var reference = GgufFile.Open(llamaPath);

        Dictionary<string, GgmlType> expected;
        using (ModelFolder folder = QuantizationModels.Open(model, _files.Scratch))
        {
            var config = folder.Config;
            expected = LlamaTensorNames.Expected(config).ToDictionary(
                t => LlamaGgufNames.Name(t.Role, Math.Max(0, t.Layer)),
                t => recipe.TypeFor(t.Name, t.Role, t.Layer, t.Shape, config, withImportance: true));
        }

        var problems = new List<string>();
        foreach (GgufTensorInfo r in reference.Tensors)
        {
            if (expected[r.Name] != r.Type)
            {
                problems.Add($"{r.Name}: llama.cpp {GgufTensorTypes.Name(r.Type)}, ours {GgmlTypes.Name(expected[r.Name])}");
                continue;
            }
            GgufTensorInfo source = f32.Find(r.Name)!;
            float[] values = MemoryMarshal.Cast<byte, float>(f32.GetSpan(source)).ToArray();
            long cols = r.Dimensions[0], rows = r.ElementCount / cols;
            byte[] ours = GgmlQuantizer.QuantizeMatrix(r.Type, values, rows, cols, importance.GetValueOrDefault(r.Name) ?? Array.Empty<float>());
            string? diff = FirstDifference(r, reference.GetSpan(r), ours, values);
            if (diff is not null)
                problems.Add(diff);
        }
        Assert.True(problems.Count == 0, $"{problems.Count} tensor(s) differ from llama.cpp's {recipe.BaseName} file with an imatrix:\n{string.Join("\n", problems)}");

        // The rule fired where it should: gqa672 has 8 layers, so layer 0 (< 8/8) is the one guarded.
        if (model == "gqa672" && recipe.DefaultType is GgmlType.Q4_0 or GgmlType.Q5_0)
        {
            GgmlType guarded = recipe.DefaultType == GgmlType.Q4_0 ? GgmlType.Q4_1 : GgmlType.Q5_1;
            Assert.Equal(guarded, reference.Find("blk.0.ffn_down.weight")!.Type);
            Assert.Equal(recipe.DefaultType, reference.Find("blk.1.ffn_down.weight")!.Type);
        }
    }

    private static float[] Importance(string name, long columns)
    {
        uint seed = 2166136261; // FNV-1a of the name: stable across processes
        foreach (char c in name) seed = (seed ^ c) * 16777619;
        var values = new float[columns];
        for (long i = 0; i < columns; i++)
        {
            uint h = (uint)(i + 1) * 2654435761u ^ seed;
            h ^= h >> 15;
            h *= 2246822519u;
            h ^= h >> 13;
            values[i] = 0.01f + (h & 0xFFFF) / 4096f; // 0.01 … 16
        }
        return values;
    }

    private string QuantizeWithLlamaCpp(string model, QuantizationRecipe recipe)
    {
        var (status, path, log) = _files.Quantized(model, recipe.FileType);
        Assert.True(status == 0, $"llama.cpp could not quantize {model} to {recipe.BaseName} (status {status}):\n{log}");
        return path;
    }

    private static string? FirstDifference(GgufTensorInfo t, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, float[] values)
    {
        if (expected.SequenceEqual(actual))
            return null;
        if (expected.Length != actual.Length)
            return $"{t.Name} ({t.TypeName}): {expected.Length} bytes from llama.cpp, {actual.Length} ours";
        int at = expected.CommonPrefixLength(actual);
        int blockBytes = GgmlTypes.BlockBytes(t.Type), blockSize = GgmlTypes.BlockSize(t.Type);
        int block = at / blockBytes;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{t.Name} ({t.TypeName}): first difference at byte {at}, block {block} (byte {at % blockBytes} in it)");
        text.Append(CultureInfo.InvariantCulture, $"\n  llama.cpp: {Convert.ToHexString(expected.Slice(block * blockBytes, blockBytes))}");
        text.Append(CultureInfo.InvariantCulture, $"\n  ours:      {Convert.ToHexString(actual.Slice(block * blockBytes, blockBytes))}");
        var inputs = values.AsSpan(block * blockSize, Math.Min(blockSize, 32)).ToArray()
            .Select(v => $"{v.ToString("R", CultureInfo.InvariantCulture)}(0x{BitConverter.SingleToUInt32Bits(v):X8})");
        text.Append(CultureInfo.InvariantCulture, $"\n  inputs:    {string.Join(" ", inputs)}");
        return text.ToString();
    }
}

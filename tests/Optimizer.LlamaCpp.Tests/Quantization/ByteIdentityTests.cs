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

    // austen's ffn_down rows (688) are not whole blocks of 32: llama.cpp refuses Q8_0 and Q4_0 for it (see the last test).
    public static TheoryData<string, string> KernelCases() => Cases(
        ("synthetic", new[] { "Q8_0", "Q4_0", "Q4_K_M", "Q4_K", "Q6_K", "F16", "BF16" }),
        ("austen", new[] { "Q4_K_M", "Q4_K", "Q6_K", "F16", "BF16" }));

    // Q4_K is llama.cpp's Q4_K_S, whose Q5_K bumps we do not make: its file types differ by design.
    public static TheoryData<string, string> FileCases() => Cases(
        ("synthetic", new[] { "Q8_0", "Q4_0", "Q4_K_M", "Q6_K", "F16", "BF16" }),
        ("austen", new[] { "Q4_K_M", "Q6_K", "F16", "BF16" }));

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
        Assert.Equal((long)recipe.FileType, ours.Metadata.GetInteger("general.file_type"));
    }

    [Theory]
    [InlineData("Q8_0")]
    [InlineData("Q4_0")]
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

using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Tests.Formats;
using Optimizer.Engine.Tests.Transforms;
using Optimizer.Engine.Transforms;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Phi3;

/// <summary>
/// The analysis and the exact transforms on phi3 through the fused view (docs/model-families.md, "Phi-3"): they address
/// q/k/v and gate/up by their Llama names, so every exact mitigation keeps the logits (Δ ≤ 1e-3, as
/// <see cref="ExactTransformTests"/>), including OTC balancing with partial rotary, where the RoPE pairs are p and p + R/2
/// and the unrotated dimensions are units of their own.
/// </summary>
public sealed class Phi3TransformTests(ITestOutputHelper output)
{
    public static TheoryData<string, string, OtcScope> Cases() => new()
    {
        { Phi3Tests.Window, "norm", OtcScope.Flagged },
        { Phi3Tests.Window, "smooth", OtcScope.Flagged },
        { Phi3Tests.Window, "otc", OtcScope.Flagged },
        { Phi3Tests.Window, "tma", OtcScope.Flagged },
        { Phi3Tests.Window, "norm,smooth,otc,tma", OtcScope.All },
        { Phi3Tests.Phi4, "tma", OtcScope.Flagged },
        { Phi3Tests.Phi4, "smooth", OtcScope.Flagged },
        { Phi3Tests.Phi4, "otc", OtcScope.All },
        { Phi3Tests.Phi4, "norm,smooth,otc,tma", OtcScope.All },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ExactTransformsKeepThePhi3Logits(string variant, string list, OtcScope scope)
    {
        using var temp = new TempFolder();
        string folder = Directory.CreateDirectory(temp.File(variant)).FullName;
        Phi3Tests.Variant(variant).Build(folder);
        using var model = ModelFolder.Open(folder);
        var input = TransformHarness.Analyze(model, TransformHarness.Calibration(temp.Path), TransformHarness.ScaleFree);
        var plan = TransformHarness.Plan(input, TransformOptions.Parse(list) with { OtcScope = scope });
        Assert.True(plan.IsExact);
        int touched = plan.Records.Sum(r => r.Touched.Count);
        Assert.True(touched > 0, $"{variant} [{list}]: nothing was transformed");
        var delta = TransformHarness.Delta(model, plan, input.Analysis.Calibration.Sequences.Take(2).ToArray());
        output.WriteLine($"{variant} [{list}, otc {scope}]: {touched} (layer, target) pairs; max |Δlogit| {delta.MaxAbs:G3} (relative {delta.Relative:G3}, max |logit| {delta.ReferenceMaxAbs:G4})");
        Assert.InRange(delta.MaxAbs, 0, ExactTransformTests.Tolerance);
    }

    /// <summary>A transformed phi3 view exports as fused attn_qkv / ffn_up rows of the transformed q, k, v and gate, up.</summary>
    [Fact]
    public void TheTransformedViewIsFusedBackOnExport()
    {
        using var temp = new TempFolder();
        string folder = Directory.CreateDirectory(temp.File("phi4")).FullName;
        Phi3Tests.Variant(Phi3Tests.Phi4).Build(folder);
        using var model = ModelFolder.Open(folder);
        var input = TransformHarness.Analyze(model, TransformHarness.Calibration(temp.Path), TransformHarness.ScaleFree);
        var plan = TransformHarness.Plan(input, TransformOptions.Parse("norm,smooth,otc,tma") with { OtcScope = OtcScope.All });
        using var view = new TransformedWeights(model.Weights, model.Config, plan);
        string path = temp.File("phi4.gguf");
        LlamaGgufExporter.Export(model, view, QuantizationRecipe.Parse("F32"), path, null, default);
        using var file = GgufFile.Open(path);
        for (int layer = 0; layer < model.Config.NumHiddenLayers; layer++)
        {
            float[] Read(TensorRole role) => TensorData.ReadFloat32(view, view.Find(LlamaTensorNames.Name(role, layer))!);
            float[] qkv = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetSpan(file.Find($"blk.{layer}.attn_qkv.weight")!)).ToArray();
            float[] up = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetSpan(file.Find($"blk.{layer}.ffn_up.weight")!)).ToArray();
            Assert.Equal(Read(TensorRole.Q).Concat(Read(TensorRole.K)).Concat(Read(TensorRole.V)), qkv);
            Assert.Equal(Read(TensorRole.Gate).Concat(Read(TensorRole.Up)), up);
        }
        Assert.Contains(model.Weights.Tensors, t => view.IsChanged(t.Name) && t.Name.Contains("q_proj", StringComparison.Ordinal));
    }
}

using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Optimizer.Engine.Model;

/// <summary>
/// The SwiGLU FFN sub-block of a Llama decoder layer with the paper's operator positions y1…y8 (PAPER-NOTES §2.1):
/// y2 = RMSNorm(y1), y3 = gate(y2), y4 = up(y2), y5 = SiLU(y3), y6 = y5 ⊙ y4, y7 = down(y6), y8 = y1 + y7.
/// With an <see cref="ActivationQuantization"/>, y2 (gate/up input) and y6 (down input) are fake quantized after the
/// probes saw them. Gemma (docs/model-families.md, "Gemma 2 and Gemma 3 text") gates with GELU-tanh instead of SiLU
/// and normalizes y7 by its post-FFN norm (<see cref="ProbeSite.PostNorm"/>) before the residual add.
/// </summary>
internal static class FeedForwardBlock
{
    /// <summary>Returns y8 for the FFN input <paramref name="y1"/> [B, T, C].</summary>
    public static Tensor Forward(Tensor y1, LayerWeights w, ModelConfig config, in ProbeDispatch probes, ActivationQuantization? quantization)
    {
        probes.Emit(ProbeSite.Y1, y1);
        Tensor normalized = RmsNorm.Normalize(y1, config.RmsNormEps);
        probes.Emit(ProbeSite.NormIn, normalized);
        Tensor y2 = RmsNorm.Scale(normalized, w.FfnNorm);
        normalized.Dispose();
        probes.Emit(ProbeSite.Y2, y2);

        Tensor input = ActivationFakeQuantizer.Apply(y2, quantization, w.Layer, ProbeSite.Y2);
        Tensor y3 = F.linear(input, w.Gate);
        probes.Emit(ProbeSite.Y3, y3);
        Tensor y4 = F.linear(input, w.Up);
        if (!ReferenceEquals(input, y2)) input.Dispose();
        y2.Dispose();
        probes.Emit(ProbeSite.Y4, y4);
        Tensor y5 = config.IsGemma ? F.gelu(y3, TorchSharp.Modules.GELU.Approximate.tanh) : F.silu(y3);
        y3.Dispose();
        probes.Emit(ProbeSite.Y5, y5);
        Tensor y6 = y5 * y4;
        y5.Dispose();
        y4.Dispose();
        probes.Emit(ProbeSite.Y6, y6);

        Tensor downInput = ActivationFakeQuantizer.Apply(y6, quantization, w.Layer, ProbeSite.Y6);
        Tensor y7 = F.linear(downInput, w.Down);
        if (!ReferenceEquals(downInput, y6)) downInput.Dispose();
        y6.Dispose();
        probes.Emit(ProbeSite.Y7, y7);
        if (w.PostFfnNorm is not null)
        {
            Tensor post = RmsNorm.Apply(y7, w.PostFfnNorm, config.RmsNormEps);
            y7.Dispose();
            probes.Emit(ProbeSite.PostNorm, post);
            y7 = post;
        }
        Tensor y8 = ExplicitScalars.Add(y1, y7);
        y7.Dispose();
        probes.Emit(ProbeSite.Y8, y8);
        return y8;
    }
}

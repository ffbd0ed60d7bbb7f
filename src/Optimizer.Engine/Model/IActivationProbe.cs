using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>
/// Receives activations during <see cref="LlamaModel.Forward(Tensor, IActivationProbe?, CancellationToken)"/>.
/// The model asks <see cref="Wants"/> first; sites nobody wants are never reshaped, copied or passed on.
/// </summary>
public interface IActivationProbe
{
    /// <summary>Whether this probe wants the activation at <paramref name="site"/> of <paramref name="layer"/>.</summary>
    bool Wants(int layer, ProbeSite site);

    /// <summary>
    /// Observes one activation: a contiguous float32 tensor [B*T, channels] on the model's device. It is owned by the
    /// model and disposed after the layer step, so a probe must copy out what it keeps and must not modify it.
    /// </summary>
    void Observe(in ProbeContext context, Tensor activation);
}

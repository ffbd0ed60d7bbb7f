using Optimizer.Engine.Evaluation;

namespace Optimizer.Engine.Model;

/// <summary>How <see cref="LlamaModel"/> runs.</summary>
public sealed record ModelOptions
{
    /// <summary>
    /// <c>cpu</c> (default), <c>cuda</c> / <c>cuda:N</c> (fails with <see cref="ErrorCodes.DeviceUnavailable"/> when this
    /// libtorch has no usable CUDA), or <c>auto</c> (CUDA when <c>torch.cuda.is_available()</c>, otherwise CPU).
    /// </summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// True: only one decoder layer's weights are in memory at a time; each layer is read from the tensor source when the
    /// forward reaches it and freed after it. False (default): all layers stay resident. Model-level tensors (embedding,
    /// final norm, output head) are resident in both modes.
    /// </summary>
    public bool StreamLayers { get; init; }

    /// <summary>
    /// Fake quantization of every linear input (q/k/v, o_proj, gate/up, down_proj), or null (default) for a plain float
    /// forward. Checked by <see cref="LlamaModel.Create"/>.
    /// </summary>
    public ActivationQuantization? ActivationQuantization { get; init; }
}

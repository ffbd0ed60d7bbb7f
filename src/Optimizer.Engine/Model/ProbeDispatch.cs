using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>Calls an <see cref="IActivationProbe"/> for one layer of one forward; free when no probe wants a site.</summary>
internal readonly struct ProbeDispatch
{
    private readonly IActivationProbe? _probe;
    private readonly int _layer;
    private readonly int _batch;
    private readonly int _length;
    private readonly ReadOnlyMemory<long> _tokenIds;
    private readonly long _firstTokenIndex;

    public ProbeDispatch(IActivationProbe? probe, int layer, int batch, int length, ReadOnlyMemory<long> tokenIds, long firstTokenIndex)
    {
        _probe = probe;
        _layer = layer;
        _batch = batch;
        _length = length;
        _tokenIds = tokenIds;
        _firstTokenIndex = firstTokenIndex;
    }

    /// <summary>Passes <paramref name="activation"/> ([B, T, ...] float32) as [B*T, channels] if the probe wants it.</summary>
    public void Emit(ProbeSite site, Tensor activation)
    {
        if (_probe is null || !_probe.Wants(_layer, site)) return;
        using Tensor rows = activation.reshape(_batch * (long)_length, -1).contiguous();
        var context = new ProbeContext(_layer, site, _batch, _length, _tokenIds, _firstTokenIndex);
        _probe.Observe(context, rows);
    }
}

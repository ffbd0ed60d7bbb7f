using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>Fans activations out to several probes, in the given order; a site is observed if any probe wants it.</summary>
public sealed class CompositeProbe : IActivationProbe
{
    private readonly IActivationProbe[] _probes;

    /// <summary>Creates a probe that forwards to <paramref name="probes"/>.</summary>
    public CompositeProbe(params IActivationProbe[] probes)
    {
        ArgumentNullException.ThrowIfNull(probes);
        if (Array.IndexOf(probes, null) >= 0) throw new ArgumentException("A probe is null.", nameof(probes));
        _probes = (IActivationProbe[])probes.Clone();
    }

    /// <inheritdoc />
    public bool Wants(int layer, ProbeSite site)
    {
        foreach (var probe in _probes)
        {
            if (probe.Wants(layer, site)) return true;
        }
        return false;
    }

    /// <inheritdoc />
    public void Observe(in ProbeContext context, Tensor activation)
    {
        foreach (var probe in _probes)
        {
            if (probe.Wants(context.Layer, context.Site)) probe.Observe(context, activation);
        }
    }
}

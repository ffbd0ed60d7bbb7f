using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Tests.Model;

/// <summary>Test probe that copies whole activations (rows × channels) to managed arrays, with their contexts.</summary>
internal sealed class CapturingProbe : IActivationProbe
{
    private readonly Func<int, ProbeSite, bool> _wants;

    public CapturingProbe(Func<int, ProbeSite, bool>? wants = null) => _wants = wants ?? ((_, _) => true);

    public List<(ProbeContext Context, int Channels, float[] Values)> Seen { get; } = new();

    public Action<ProbeContext>? OnObserve { get; set; }

    public bool Wants(int layer, ProbeSite site) => _wants(layer, site);

    public void Observe(in ProbeContext context, Tensor activation)
    {
        Assert.Equal(ScalarType.Float32, activation.dtype);
        Assert.Equal(2, activation.dim());
        Assert.True(activation.is_contiguous());
        Seen.Add((context, (int)activation.shape[1], activation.data<float>().ToArray()));
        OnObserve?.Invoke(context);
    }

    /// <summary>The single capture of (layer, site).</summary>
    public (ProbeContext Context, int Channels, float[] Values) Get(int layer, ProbeSite site)
        => Seen.Single(s => s.Context.Layer == layer && s.Context.Site == site);
}

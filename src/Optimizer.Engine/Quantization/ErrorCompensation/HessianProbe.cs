using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Quantization.ErrorCompensation;

/// <summary>
/// Accumulates <c>H = Σ x xᵀ</c> in float64 over every token of one layer's linear-input sites (attn.y2 for q/k/v,
/// attn.out for o, y2 for gate/up, y6 for down: the sites <see cref="Diagnostics.ImportanceCollection.InputSite"/> names),
/// for <see cref="ErrorCompensatedRounding"/>. Memory: one C×C float64 matrix per site (the y6 one is
/// intermediate_size²).
/// </summary>
internal sealed class HessianProbe : IActivationProbe, IDisposable
{
    private readonly int _layer;
    private readonly Dictionary<ProbeSite, Tensor> _sums = new();
    private readonly HashSet<ProbeSite> _sites;

    public HessianProbe(int layer, IEnumerable<ProbeSite> sites)
    {
        _layer = layer;
        _sites = new HashSet<ProbeSite>(sites);
    }

    /// <summary>Tokens observed at each site.</summary>
    public Dictionary<ProbeSite, long> Tokens { get; } = new();

    public bool Wants(int layer, ProbeSite site) => layer == _layer && _sites.Contains(site);

    public void Observe(in ProbeContext context, Tensor activation)
    {
        using var noGrad = no_grad();
        using Tensor x = activation.to(ScalarType.Float64);
        using Tensor xt = x.t();
        Tensor product = xt.mm(x);
        if (_sums.TryGetValue(context.Site, out Tensor? sum))
        {
            ExplicitScalars.AddInPlace(sum, product);
            product.Dispose();
        }
        else
        {
            // The sums outlive the forward's dispose scopes; this probe disposes them.
            _sums[context.Site] = product.DetachFromDisposeScope();
        }
        Tokens[context.Site] = Tokens.GetValueOrDefault(context.Site) + activation.shape[0];
    }

    /// <summary>The accumulated Hessian of <paramref name="site"/> as a row-major float64 array, or null when never observed.</summary>
    public double[]? Hessian(ProbeSite site, out int channels)
    {
        channels = 0;
        if (!_sums.TryGetValue(site, out Tensor? sum)) return null;
        channels = checked((int)sum.shape[0]);
        using Tensor cpu = sum.to(ScalarType.Float64, CPU).contiguous();
        return cpu.data<double>().ToArray();
    }

    public void Dispose()
    {
        foreach (Tensor t in _sums.Values) t.Dispose();
        _sums.Clear();
    }
}

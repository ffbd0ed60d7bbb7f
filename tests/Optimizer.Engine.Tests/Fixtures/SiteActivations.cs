namespace Optimizer.Engine.Tests.Fixtures;

/// <summary>Full activations of one forward, per (layer, site id): rows are tokens, columns channels.</summary>
internal sealed class SiteActivations
{
    private readonly SortedDictionary<(int Layer, string Site), double[][]> _sites = new();

    public void Set(int layer, string site, double[][] rows) => _sites[(layer, site)] = rows;

    public double[][] this[int layer, string site] =>
        _sites.TryGetValue((layer, site), out var rows) ? rows : throw new KeyNotFoundException($"No activations for layer {layer}, site {site}.");

    public IEnumerable<(int Layer, string Site, double[][] Rows)> All => _sites.Select(kv => (kv.Key.Layer, kv.Key.Site, kv.Value));
}

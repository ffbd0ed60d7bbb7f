namespace Optimizer.Fixtures;

/// <summary>
/// Plants outlier-triggering channels (OTCs) in <c>q_proj</c> of decoder layer <see cref="Layer"/>. With
/// <see cref="QueryOutlierReading.OutputRows"/>, <see cref="Indices"/> are RoPE pair indices i (0 ≤ i &lt; head_dim/2)
/// of head <see cref="Head"/>, and both rows of each rotate_half pair (h·d + i and h·d + i + d/2), with their bias
/// entries, are multiplied by <see cref="Scale"/>. With <see cref="QueryOutlierReading.InputColumns"/>,
/// <see cref="Indices"/> are input (hidden) columns multiplied by <see cref="Scale"/>, and <see cref="Head"/> is unused.
/// Use <see cref="Rows"/> or <see cref="Columns"/> to create one.
/// </summary>
public sealed record QueryOutlierPlant(QueryOutlierReading Reading, int Layer, int Head, IReadOnlyList<int> Indices, double Scale)
{
    /// <summary>Reading A: scales the rotate_half row pairs <paramref name="pairs"/> of query head <paramref name="head"/>.</summary>
    public static QueryOutlierPlant Rows(int layer, int head, IReadOnlyList<int> pairs, double scale = 30) =>
        new(QueryOutlierReading.OutputRows, layer, head, pairs, scale);

    /// <summary>Reading B: scales the input columns <paramref name="columns"/> of q_proj.</summary>
    public static QueryOutlierPlant Columns(int layer, IReadOnlyList<int> columns, double scale = 30) =>
        new(QueryOutlierReading.InputColumns, layer, -1, columns, scale);

    /// <summary>The q_proj rows this plant scales (both members of every pair), ascending; empty for columns.</summary>
    public IReadOnlyList<int> ScaledRows(int headDim)
    {
        if (Reading != QueryOutlierReading.OutputRows) return Array.Empty<int>();
        var rows = new List<int>();
        foreach (int i in Indices)
        {
            rows.Add(Head * headDim + i);
            rows.Add(Head * headDim + i + headDim / 2);
        }
        rows.Sort();
        return rows;
    }

    internal void Validate(int layers, int hidden, int heads, int headDim)
    {
        if (Layer < 0 || Layer >= layers)
            throw new ArgumentException($"OTC layer {Layer} is outside 0..{layers - 1}.", nameof(Layer));
        if (Indices is null || Indices.Count == 0)
            throw new ArgumentException("An OTC plant needs at least one index.", nameof(Indices));
        if (!(Scale > 1 && Scale <= 1000))
            throw new ArgumentException($"OTC scale {Scale} must be in (1, 1000].", nameof(Scale));
        int limit;
        if (Reading == QueryOutlierReading.OutputRows)
        {
            if (Head < 0 || Head >= heads)
                throw new ArgumentException($"OTC head {Head} is outside 0..{heads - 1}.", nameof(Head));
            limit = headDim / 2;
        }
        else if (Reading == QueryOutlierReading.InputColumns)
        {
            limit = hidden;
        }
        else
        {
            throw new ArgumentException($"Unknown OTC reading {Reading}.", nameof(Reading));
        }
        var seen = new HashSet<int>();
        foreach (int i in Indices)
        {
            if (i < 0 || i >= limit) throw new ArgumentException($"OTC index {i} is outside 0..{limit - 1}.", nameof(Indices));
            if (!seen.Add(i)) throw new ArgumentException($"OTC index {i} is listed twice.", nameof(Indices));
        }
        if (Indices.Count * 2 > limit)
            throw new ArgumentException($"{Indices.Count} OTC indices are too many (at most half of {limit}).", nameof(Indices));
    }
}

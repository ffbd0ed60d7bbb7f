namespace Optimizer.Engine.Quantization.Imatrix;

/// <summary>
/// The importance statistics of one weight tensor, as llama.cpp's <c>llama-imatrix</c> keeps them: per input column
/// (GGUF <c>ne[0]</c>) the sum of squared input activations (<c>in_sum2</c>), optionally the sum of the activations
/// (<c>in_sum</c>), and per matrix the number of token rows that were summed (<c>counts</c>; one matrix for a dense
/// weight, one per expert for a merged MoE weight). Values are float32 as in the file. Immutable.
/// </summary>
public sealed class ImatrixEntry
{
    private readonly float[] _sumSquares;
    private readonly float[]? _sums;
    private readonly long[] _counts;

    /// <summary>
    /// Creates an entry (the arrays are copied). <paramref name="sumSquares"/> holds <c>matrices × columns</c> values
    /// (matrix-major), <paramref name="sums"/> the same number or null, <paramref name="counts"/> one per matrix.
    /// Values are checked by <see cref="ImportanceMatrix"/>, which names the file.
    /// </summary>
    public ImatrixEntry(string name, ReadOnlySpan<float> sumSquares, ReadOnlySpan<float> sums, ReadOnlySpan<long> counts)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
        _sumSquares = sumSquares.ToArray();
        _sums = sums.IsEmpty ? null : sums.ToArray();
        _counts = counts.ToArray();
    }

    /// <summary>The GGUF name of the weight, e.g. <c>blk.0.attn_q.weight</c>.</summary>
    public string Name { get; }

    /// <summary>Σx² per input column, matrix after matrix (<c>&lt;name&gt;.in_sum2</c>).</summary>
    public ReadOnlySpan<float> SumSquares => _sumSquares;

    /// <summary>Σx per input column (<c>&lt;name&gt;.in_sum</c>); empty when the file had none (legacy files, older GGUF writers).</summary>
    public ReadOnlySpan<float> Sums => _sums;

    /// <summary>Whether <see cref="Sums"/> is present.</summary>
    public bool HasSums => _sums is not null;

    /// <summary>Token rows summed, one per matrix (<c>&lt;name&gt;.counts</c>; in a legacy file: its <c>ncall</c>).</summary>
    public ReadOnlySpan<long> Counts => _counts;

    /// <summary>Matrices (1 for a dense weight).</summary>
    public int Matrices => _counts.Length;

    /// <summary>Input columns per matrix; 0 when the entry is malformed (no counts, or values not a whole number of matrices).</summary>
    public int Columns => _counts.Length == 0 || _sumSquares.Length % _counts.Length != 0 ? 0 : _sumSquares.Length / _counts.Length;

    internal float[] SumSquaresArray => _sumSquares;

    internal float[]? SumsArray => _sums;
}

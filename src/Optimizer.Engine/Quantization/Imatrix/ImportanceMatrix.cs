using System.Globalization;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;

namespace Optimizer.Engine.Quantization.Imatrix;

/// <summary>
/// An importance matrix in llama.cpp's sense (QUANT-NOTES §1): for every linear weight of the decoder blocks (GGUF names,
/// <c>blk.N.attn_q.weight</c> …), per input column the sum of x² (and of x) of the activations that weight multiplied
/// over the calibration tokens, and the token count; plus the number and size of the calibration chunks and the dataset
/// names. <see cref="GetQuantWeights"/> gives what <c>llama-quantize</c> hands to ggml's quantizers (the per-column
/// mean square E[x²]). Entries are kept in ordinal name order (llama.cpp's file order). Every value is checked on
/// construction (finite; sums of squares and counts not negative). Immutable.
/// </summary>
public sealed class ImportanceMatrix
{
    /// <summary>The GGUF names of the per-layer linear weights an importance matrix covers, in llama.cpp's order within a block.</summary>
    public static readonly IReadOnlyList<TensorRole> LinearRoles = new[]
    {
        TensorRole.Q, TensorRole.K, TensorRole.V, TensorRole.O, TensorRole.Gate, TensorRole.Up, TensorRole.Down,
    };

    private readonly SortedDictionary<string, ImatrixEntry> _entries = new(StringComparer.Ordinal);

    /// <summary>
    /// Creates a matrix. <paramref name="chunkSize"/> is the tokens per chunk (0 when unknown, as in legacy files);
    /// <paramref name="legacy"/> marks data read from a legacy <c>.dat</c> file, whose counts are <c>ncall</c> and whose
    /// sums are already means × ncall. <paramref name="source"/> is the file the data came from (named in errors).
    /// </summary>
    /// <exception cref="OptimizerException"><see cref="ErrorCodes.ImatrixFileInvalid"/> (duplicate or malformed entry) or
    /// <see cref="ErrorCodes.ImatrixValueInvalid"/>, naming <paramref name="source"/> and the tensor.</exception>
    public ImportanceMatrix(IEnumerable<ImatrixEntry> entries, int chunkCount, int chunkSize, IReadOnlyList<string> datasets,
        bool legacy = false, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(datasets);
        Source = source;
        if (chunkCount < 0 || chunkSize < 0)
            throw new OptimizerException(ErrorCodes.ImatrixFileInvalid, $"The chunk count ({chunkCount}) and chunk size ({chunkSize}) must not be negative.", source);
        foreach (var entry in entries)
        {
            ArgumentNullException.ThrowIfNull(entry);
            Check(entry, source);
            if (!_entries.TryAdd(entry.Name, entry))
                throw new OptimizerException(ErrorCodes.ImatrixFileInvalid, $"Tensor '{entry.Name}' has two entries.", source);
        }
        ChunkCount = chunkCount;
        ChunkSize = chunkSize;
        Datasets = datasets.ToArray();
        IsLegacy = legacy;
    }

    /// <summary>The entries in ordinal name order.</summary>
    public IReadOnlyCollection<ImatrixEntry> Entries => _entries.Values;

    /// <summary>Chunks of calibration text processed (<c>imatrix.chunk_count</c>).</summary>
    public int ChunkCount { get; }

    /// <summary>Tokens per chunk (<c>imatrix.chunk_size</c>); 0 when unknown (legacy files).</summary>
    public int ChunkSize { get; }

    /// <summary>Names of the calibration datasets (<c>imatrix.datasets</c>).</summary>
    public IReadOnlyList<string> Datasets { get; }

    /// <summary>Whether the data came from a legacy <c>.dat</c> file (counts are <c>ncall</c>, sums are means × ncall).</summary>
    public bool IsLegacy { get; }

    /// <summary>The file the matrix was read from (named in errors), or null.</summary>
    public string? Source { get; }

    /// <summary>The entry of <paramref name="tensorName"/> (a GGUF name), or null.</summary>
    public ImatrixEntry? Find(string tensorName) => _entries.GetValueOrDefault(tensorName);

    /// <summary>
    /// The per-column weights <c>llama-quantize</c> feeds to ggml for <paramref name="tensorName"/> (quantize.cpp
    /// <c>load_imatrix</c>): <c>in_sum2 / count</c> in float32 per matrix, 1 for a matrix with count 0; for legacy data
    /// <c>value / ncall</c> (the value itself when ncall is 0). Length: columns × matrices.
    /// </summary>
    /// <exception cref="OptimizerException"><see cref="ErrorCodes.ImatrixTensorMissing"/> when there is no entry.</exception>
    public float[] GetQuantWeights(string tensorName)
    {
        ArgumentNullException.ThrowIfNull(tensorName);
        if (!TryGetQuantWeights(tensorName, out float[] weights))
            throw new OptimizerException(ErrorCodes.ImatrixTensorMissing, $"The importance matrix has no entry for tensor '{tensorName}'.", Source);
        return weights;
    }

    /// <summary>As <see cref="GetQuantWeights"/>; false (and an empty array) when there is no entry.</summary>
    public bool TryGetQuantWeights(string tensorName, out float[] weights)
    {
        if (Find(tensorName) is not { } entry)
        {
            weights = Array.Empty<float>();
            return false;
        }
        ReadOnlySpan<float> sums = entry.SumSquares;
        ReadOnlySpan<long> counts = entry.Counts;
        weights = new float[sums.Length];
        int columns = entry.Columns;
        if (IsLegacy)
        {
            long ncall = counts[0];
            for (int i = 0; i < sums.Length; i++) weights[i] = ncall > 0 ? sums[i] / (float)ncall : sums[i];
            return true;
        }
        for (int m = 0; m < counts.Length; m++)
        {
            float count = counts[m];
            for (int i = m * columns; i < (m + 1) * columns; i++) weights[i] = count > 0 ? sums[i] / count : 1f;
        }
        return true;
    }

    /// <summary>
    /// The GGUF names and input widths of the weights an importance matrix of <paramref name="config"/>'s model covers:
    /// the seven linear weights of every block and, for a model with its own output head, <c>output.weight</c>
    /// (llama-imatrix collects it only with <c>--process-output</c>, so it is optional).
    /// </summary>
    public static IReadOnlyList<(string Name, int Columns, bool Required)> ExpectedTensors(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var expected = new List<(string, int, bool)>();
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            foreach (var role in LinearRoles)
            {
                long[] shape = LlamaTensorNames.ExpectedShape(role, config);
                expected.Add((LlamaGgufNames.Name(role, layer), checked((int)shape[^1]), true));
            }
        }
        if (!config.TieWordEmbeddings) expected.Add((LlamaGgufNames.Name(TensorRole.OutputHead), config.HiddenSize, false));
        return expected;
    }

    /// <summary>
    /// Checks that the matrix describes <paramref name="config"/>'s model: every block linear weight has an entry
    /// (<see cref="ErrorCodes.ImatrixTensorMissing"/>), every entry names a weight of the model
    /// (<see cref="ErrorCodes.ImatrixTensorUnknown"/>), and each entry is one matrix as wide as its weight's input
    /// (<see cref="ErrorCodes.ImatrixLengthMismatch"/>). Errors name <see cref="Source"/> and the tensor.
    /// </summary>
    public void CheckFits(ModelConfig config)
    {
        var expected = ExpectedTensors(config);
        var known = expected.ToDictionary(e => e.Name, e => e.Columns, StringComparer.Ordinal);
        foreach (var entry in _entries.Values)
        {
            if (!known.TryGetValue(entry.Name, out int columns))
            {
                string hint = entry.Name.StartsWith("blk.", StringComparison.Ordinal)
                    ? $" (the model has {config.NumHiddenLayers} blocks with attn_q/k/v/output and ffn_gate/up/down weights)"
                    : entry.Name == "output.weight" ? " (the model ties its output head to the token embedding)" : "";
                throw new OptimizerException(ErrorCodes.ImatrixTensorUnknown, $"The importance matrix has an entry for tensor '{entry.Name}', which the model does not have{hint}.", Source);
            }
            if (entry.Matrices != 1 || entry.Columns != columns)
                throw new OptimizerException(ErrorCodes.ImatrixLengthMismatch,
                    $"Tensor '{entry.Name}': the importance matrix has {entry.SumSquares.Length} values in {entry.Matrices} matrix(es); "
                    + $"the weight has {columns} input columns, so 1 matrix of {columns} is expected.", Source);
        }
        foreach (var (name, _, required) in expected)
        {
            if (required && !_entries.ContainsKey(name))
                throw new OptimizerException(ErrorCodes.ImatrixTensorMissing, $"The importance matrix has no entry for tensor '{name}'.", Source);
        }
    }

    /// <summary>
    /// The matrix of the same activations after an exact diagonal rescaling of the inputs: for each named tensor, input
    /// column j is divided by <c>divisors[j]</c> (its weight column multiplied by it), so Σx² becomes Σx²/d² and Σx
    /// becomes Σx/d (computed in float64, stored as float32). Tensors not named are unchanged; counts and metadata are kept.
    /// </summary>
    public ImportanceMatrix WithInputDivisors(IReadOnlyDictionary<string, double[]> divisors)
    {
        ArgumentNullException.ThrowIfNull(divisors);
        foreach (var (name, d) in divisors)
        {
            if (Find(name) is not { } entry) throw new OptimizerException(ErrorCodes.ImatrixTensorMissing, $"The importance matrix has no entry for tensor '{name}'.", Source);
            if (d.Length != entry.Columns)
                throw new OptimizerException(ErrorCodes.ImatrixLengthMismatch, $"Tensor '{name}': {d.Length} input scales for {entry.Columns} importance columns.", Source);
            foreach (double s in d)
            {
                if (!double.IsFinite(s) || s == 0) throw new ArgumentException($"Tensor '{name}': input scales must be finite and non-zero.", nameof(divisors));
            }
        }
        var scaled = _entries.Values.Select(entry =>
        {
            if (!divisors.TryGetValue(entry.Name, out double[]? d)) return entry;
            int columns = entry.Columns;
            var sq = entry.SumSquares.ToArray();
            var sums = entry.HasSums ? entry.Sums.ToArray() : null;
            for (int i = 0; i < sq.Length; i++)
            {
                double s = d[i % columns];
                sq[i] = (float)(sq[i] / (s * s));
                if (sums is not null) sums[i] = (float)(sums[i] / s);
            }
            return new ImatrixEntry(entry.Name, sq, sums, entry.Counts);
        }).ToArray();
        return new ImportanceMatrix(scaled, ChunkCount, ChunkSize, Datasets, IsLegacy, Source);
    }

    private static void Check(ImatrixEntry entry, string? source)
    {
        if (entry.Name.Length == 0) throw new OptimizerException(ErrorCodes.ImatrixFileInvalid, "An entry has an empty tensor name.", source);
        if (entry.Matrices == 0 || entry.SumSquares.Length == 0 || entry.Columns == 0)
            throw new OptimizerException(ErrorCodes.ImatrixFileInvalid,
                $"Tensor '{entry.Name}': {entry.SumSquares.Length} sums of squares do not split into {entry.Matrices} matrix count(s).", source);
        if (entry.HasSums && entry.Sums.Length != entry.SumSquares.Length)
            throw new OptimizerException(ErrorCodes.ImatrixFileInvalid,
                $"Tensor '{entry.Name}': {entry.Sums.Length} sums but {entry.SumSquares.Length} sums of squares.", source);
        ReadOnlySpan<float> sq = entry.SumSquares;
        for (int i = 0; i < sq.Length; i++)
        {
            if (!float.IsFinite(sq[i]) || sq[i] < 0)
                throw new OptimizerException(ErrorCodes.ImatrixValueInvalid,
                    $"Tensor '{entry.Name}': sum of squares {Show(sq[i])} at column {i}; it must be a finite, non-negative number.", source);
        }
        ReadOnlySpan<float> sums = entry.Sums;
        for (int i = 0; i < sums.Length; i++)
        {
            if (!float.IsFinite(sums[i]))
                throw new OptimizerException(ErrorCodes.ImatrixValueInvalid, $"Tensor '{entry.Name}': sum {Show(sums[i])} at column {i}; it must be finite.", source);
        }
        foreach (long count in entry.Counts)
        {
            if (count < 0) throw new OptimizerException(ErrorCodes.ImatrixValueInvalid, $"Tensor '{entry.Name}': token count {count} is negative.", source);
        }
    }

    private static string Show(float value) => value.ToString("R", CultureInfo.InvariantCulture);
}

using System.Buffers.Binary;
using System.Text;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;

namespace Optimizer.Engine.Quantization.Imatrix;

/// <summary>
/// Reads and writes importance matrices in llama.cpp's two on-disk formats (QUANT-NOTES §1.3):
/// <list type="bullet">
/// <item>GGUF (current <c>llama-imatrix</c>): KV <c>general.type = imatrix</c>, <c>imatrix.datasets</c> (string array),
/// <c>imatrix.chunk_count</c> and <c>imatrix.chunk_size</c> (u32); per weight, in ordinal name order, the F32 tensors
/// <c>&lt;name&gt;.in_sum2</c> [columns, matrices], <c>&lt;name&gt;.counts</c> [1, matrices] and <c>&lt;name&gt;.in_sum</c>
/// [columns, matrices] (ggml order, trailing 1-sized dimensions dropped as ggml's writer does).</item>
/// <item>legacy <c>.dat</c> (read; written by <see cref="WriteLegacy"/>): int32 entry count; per entry int32 name length,
/// name, int32 ncall, int32 value count, float32 values (mean square × ncall); optionally int32 chunk count, int32
/// dataset length and the dataset name.</item>
/// </list>
/// <see cref="Read"/> detects the format by the GGUF magic, as llama.cpp tries GGUF first. Every problem is an
/// <see cref="OptimizerException"/> naming the file (and the tensor where there is one). Writing goes through a
/// temporary file and a rename; the same matrix gives the same bytes.
/// </summary>
public static class ImatrixFile
{
    /// <summary>The value of <c>general.type</c> in a GGUF importance matrix.</summary>
    public const string GeneralType = "imatrix";

    /// <summary>The metadata key of the dataset names.</summary>
    public const string DatasetsKey = "imatrix.datasets";

    /// <summary>The metadata key of the chunk count.</summary>
    public const string ChunkCountKey = "imatrix.chunk_count";

    /// <summary>The metadata key of the chunk size.</summary>
    public const string ChunkSizeKey = "imatrix.chunk_size";

    /// <summary>Suffix of the Σx² tensor.</summary>
    public const string SumSquaresSuffix = ".in_sum2";

    /// <summary>Suffix of the Σx tensor.</summary>
    public const string SumsSuffix = ".in_sum";

    /// <summary>Suffix of the token-count tensor.</summary>
    public const string CountsSuffix = ".counts";

    private const string GeneralTypeKey = "general.type";
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>Reads a GGUF or legacy <c>.dat</c> importance matrix.</summary>
    public static ImportanceMatrix Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new OptimizerException(ErrorCodes.ImatrixFileUnreadable, "Expected an importance-matrix file but found a folder.", path);
        if (!File.Exists(path)) throw new OptimizerException(ErrorCodes.ImatrixFileUnreadable, "The importance-matrix file does not exist.", path);
        byte[] head = new byte[4];
        int got;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            got = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.ImatrixFileUnreadable, $"The importance-matrix file cannot be read: {ex.Message}", path, inner: ex);
        }
        return got == 4 && BinaryPrimitives.ReadUInt32LittleEndian(head) == GgufParser.Magic ? ReadGguf(path) : ReadLegacy(path);
    }

    /// <summary>Writes <paramref name="matrix"/> as a GGUF importance matrix (the format of current llama-imatrix).</summary>
    public static GgufWriteResult Write(string path, ImportanceMatrix matrix, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(matrix);
        var writer = new GgufWriter();
        writer.Add(GeneralTypeKey, GeneralType);
        writer.Add(DatasetsKey, GgufValue.Strings(matrix.Datasets));
        writer.Add(ChunkCountKey, (uint)matrix.ChunkCount);
        writer.Add(ChunkSizeKey, (uint)matrix.ChunkSize);
        foreach (var entry in matrix.Entries)
        {
            int matrices = entry.Matrices, columns = entry.Columns;
            // ggml writes ggml_n_dims dimensions: a dense weight's [columns, 1] becomes [columns], its counts [1, 1] become [1].
            long[] valueShape = matrices == 1 ? new long[] { columns } : new long[] { matrices, columns };
            long[] countShape = matrices == 1 ? new long[] { 1 } : new long[] { matrices, 1 };
            float[] sumSquares = entry.SumSquaresArray;
            float[] counts = entry.Counts.ToArray().Select(c => (float)c).ToArray();
            writer.AddTensor(entry.Name + SumSquaresSuffix, valueShape, GgmlType.F32, s => WriteFloats(s, sumSquares));
            writer.AddTensor(entry.Name + CountsSuffix, countShape, GgmlType.F32, s => WriteFloats(s, counts));
            if (entry.SumsArray is { } sums) writer.AddTensor(entry.Name + SumsSuffix, valueShape, GgmlType.F32, s => WriteFloats(s, sums));
        }
        return writer.Write(path, ct: ct);   // temporary file + rename; I/O failures are OOPT1030/OOPT1031 naming the file
    }

    /// <summary>
    /// Writes <paramref name="matrix"/> in the legacy <c>.dat</c> format as llama-imatrix's <c>--output-format dat</c>
    /// does: entries with no token at all are skipped, <c>ncall = ⌈max(counts) / chunk_size⌉</c>, values
    /// <c>(Σx² / count) · ncall</c> in float32 (1 · ncall for a matrix with count 0), then the chunk count and the last
    /// dataset name. Legacy data is written back as it was read. Needs <see cref="ImportanceMatrix.ChunkSize"/> &gt; 0 otherwise.
    /// </summary>
    public static void WriteLegacy(string path, ImportanceMatrix matrix)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(matrix);
        if (!matrix.IsLegacy && matrix.ChunkSize <= 0)
            throw new ArgumentException("The legacy format needs the chunk size to compute ncall; this matrix has none.", nameof(matrix));
        var stored = matrix.Entries.Where(e => matrix.IsLegacy || e.Counts.ToArray().Any(c => c != 0)).ToArray();
        AtomicFile.Write(Path.GetFullPath(path), file =>
        {
            using var w = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true);
            w.Write(stored.Length);
            foreach (var entry in stored)
            {
                byte[] name = Encoding.UTF8.GetBytes(entry.Name);
                w.Write(name.Length);
                w.Write(name);
                ReadOnlySpan<long> counts = entry.Counts;
                int ncall = matrix.IsLegacy ? checked((int)counts[0]) : checked((int)((counts.ToArray().Max() + matrix.ChunkSize - 1) / matrix.ChunkSize));
                w.Write(ncall);
                ReadOnlySpan<float> values = entry.SumSquares;
                w.Write(values.Length);
                int columns = entry.Columns;
                for (int i = 0; i < values.Length; i++)
                {
                    if (matrix.IsLegacy)
                    {
                        w.Write(values[i]);
                        continue;
                    }
                    float count = counts[i / columns];
                    float value = values[i];
                    if (count == 0f) { value = 1f; count = 1f; }
                    w.Write(value / count * ncall);
                }
            }
            w.Write(matrix.ChunkCount);
            byte[] dataset = Encoding.UTF8.GetBytes(matrix.Datasets.Count > 0 ? matrix.Datasets[^1] : "");
            w.Write(dataset.Length);
            w.Write(dataset);
        });
    }

    private static void WriteFloats(Stream stream, float[] values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        stream.Write(bytes);
    }

    private static ImportanceMatrix ReadGguf(string path)
    {
        GgufFile file;
        try
        {
            file = GgufFile.Open(path);
        }
        catch (OptimizerException ex) when (ex.Code.StartsWith("OOPT111", StringComparison.Ordinal) || ex.Code == ErrorCodes.FileUnreadable)
        {
            throw new OptimizerException(ex.Code == ErrorCodes.FileUnreadable ? ErrorCodes.ImatrixFileUnreadable : ErrorCodes.ImatrixFileInvalid,
                $"Not a valid GGUF importance matrix: {ex.Message}", path, inner: ex);
        }
        using (file)
        {
            GgufMetadata meta = file.Metadata;
            string[] missing = new[] { DatasetsKey, ChunkCountKey, ChunkSizeKey }.Where(k => !meta.Contains(k)).ToArray();
            if (missing.Length > 0)
            {
                string what = meta.Contains("general.architecture") ? " (this looks like a model, not an importance matrix)" : "";
                throw new OptimizerException(ErrorCodes.ImatrixFileInvalid,
                    $"The GGUF file has no importance-matrix metadata {string.Join(", ", missing)}{what}.", path);
            }
            GgufValue datasetsValue = meta.Get(DatasetsKey);
            if (datasetsValue.Array is not { ElementType: GgufValueType.String } datasets)
                throw new OptimizerException(ErrorCodes.ImatrixFileInvalid, $"'{DatasetsKey}' must be an array of strings, not {datasetsValue.Type}.", path);
            int chunkCount = U32(meta, ChunkCountKey, path), chunkSize = U32(meta, ChunkSizeKey, path);

            var parts = new SortedDictionary<string, (GgufTensorInfo? SumSquares, GgufTensorInfo? Counts, GgufTensorInfo? Sums)>(StringComparer.Ordinal);
            foreach (var tensor in file.Tensors)
            {
                string name = tensor.Name;
                if (Strip(name, SumsSuffix) is { } a) parts[a] = parts.GetValueOrDefault(a) with { Sums = tensor };
                else if (Strip(name, SumSquaresSuffix) is { } b) parts[b] = parts.GetValueOrDefault(b) with { SumSquares = tensor };
                else if (Strip(name, CountsSuffix) is { } c) parts[c] = parts.GetValueOrDefault(c) with { Counts = tensor };
            }
            if (parts.Count == 0)
                throw new OptimizerException(ErrorCodes.ImatrixFileInvalid, $"The GGUF file has no '*{SumSquaresSuffix}' / '*{CountsSuffix}' tensors.", path);
            var entries = new List<ImatrixEntry>();
            foreach (var (name, (sq, counts, sums)) in parts)
            {
                if (sq is null || counts is null)
                    throw new OptimizerException(ErrorCodes.ImatrixFileInvalid,
                        $"Tensor '{name}' has {(sq is null ? "no" : "a")} '{SumSquaresSuffix}' and {(counts is null ? "no" : "a")} '{CountsSuffix}' tensor; both are needed.", path);
                foreach (var t in new[] { sq, counts, sums })
                {
                    if (t is not null && t.Type != GgmlType.F32)
                        throw new OptimizerException(ErrorCodes.ImatrixFileInvalid, $"Tensor '{t.Name}' is {t.TypeName}; importance-matrix tensors must be F32.", path);
                }
                if (sums is not null && sums.ElementCount != sq.ElementCount)
                    throw new OptimizerException(ErrorCodes.ImatrixFileInvalid,
                        $"Tensor '{sums.Name}' has {sums.ElementCount} values but '{sq.Name}' has {sq.ElementCount}; they must match.", path);
                float[] countValues = Floats(file, counts);
                var whole = new long[countValues.Length];
                for (int i = 0; i < countValues.Length; i++)
                {
                    float c = countValues[i];
                    if (!float.IsFinite(c) || c < 0)
                        throw new OptimizerException(ErrorCodes.ImatrixValueInvalid, $"Tensor '{name}': token count {c} must be a finite, non-negative number.", path);
                    whole[i] = (long)Math.Round(c, MidpointRounding.AwayFromZero);   // llama.cpp: std::lround
                }
                entries.Add(new ImatrixEntry(name, Floats(file, sq), sums is null ? default : Floats(file, sums), whole));
            }
            string[] names = datasets.As<string>();
            return new ImportanceMatrix(entries, chunkCount, chunkSize, names, legacy: false, source: path);
        }
    }

    private static int U32(GgufMetadata meta, string key, string path)
    {
        GgufValue value = meta.Get(key);
        if (value.Value is not uint u || u > int.MaxValue)
            throw new OptimizerException(ErrorCodes.ImatrixFileInvalid, $"'{key}' must be a u32 up to {int.MaxValue}, not {value.Type} {value}.", path);
        return (int)u;
    }

    private static string? Strip(string name, string suffix) =>
        name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.Ordinal) ? name[..^suffix.Length] : null;

    private static float[] Floats(GgufFile file, GgufTensorInfo tensor)
    {
        ReadOnlySpan<byte> bytes = file.GetSpan(tensor);
        var values = new float[bytes.Length / sizeof(float)];
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * sizeof(float))..]);
        return values;
    }

    private static ImportanceMatrix ReadLegacy(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.ImatrixFileUnreadable, $"The importance-matrix file cannot be read: {ex.Message}", path, inner: ex);
        }
        var reader = new LegacyReader(bytes, path);
        int count = reader.Int32("the entry count");
        if (count < 1)
            throw reader.Invalid($"The file is neither a GGUF file (no \"GGUF\" magic) nor a legacy importance matrix (entry count {count})", 0);
        var entries = new List<ImatrixEntry>(Math.Min(count, 1 << 16));
        for (int i = 0; i < count; i++)
        {
            long at = reader.Position;
            int length = reader.Int32($"the name length of entry {i + 1}");
            if (length < 1 || length > 4096) throw reader.Invalid($"Entry {i + 1} has a name of {length} bytes", at);
            string name = reader.Utf8(length, $"the name of entry {i + 1}");
            int ncall = reader.Int32($"ncall of '{name}'");
            if (ncall < 0) throw new OptimizerException(ErrorCodes.ImatrixValueInvalid, $"Tensor '{name}': ncall {ncall} is negative.", path);
            at = reader.Position;
            int values = reader.Int32($"the value count of '{name}'");
            if (values < 1) throw reader.Invalid($"Tensor '{name}' has {values} values", at);
            float[] data = reader.Floats(values, $"the {values} values of '{name}'");
            entries.Add(new ImatrixEntry(name, data, default, new long[] { ncall }));
        }
        int chunks = 0;
        var datasets = new List<string>();
        if (reader.Remaining > 0)
        {
            chunks = reader.Int32("the chunk count");
            if (reader.Remaining > 0)
            {
                long at = reader.Position;
                int length = reader.Int32("the dataset name length");
                if (length < 0 || length > reader.Remaining) throw reader.Invalid($"The dataset name is said to have {length} bytes, but {reader.Remaining} remain", at);
                if (length > 0) datasets.Add(reader.Utf8(length, "the dataset name"));
                if (reader.Remaining > 0) throw reader.Invalid($"{reader.Remaining} unexpected bytes follow the dataset name", reader.Position);
            }
        }
        return new ImportanceMatrix(entries, Math.Max(0, chunks), 0, datasets, legacy: true, source: path);
    }

    private sealed class LegacyReader(byte[] bytes, string path)
    {
        public long Position { get; private set; }

        public long Remaining => bytes.Length - Position;

        public OptimizerException Invalid(string message, long at) =>
            new(ErrorCodes.ImatrixFileInvalid, $"{message} (at byte {at}).", path);

        public int Int32(string what)
        {
            Need(4, what);
            int value = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan((int)Position));
            Position += 4;
            return value;
        }

        public string Utf8(int length, string what)
        {
            Need(length, what);
            try
            {
                return StrictUtf8.GetString(bytes, (int)Position, length);
            }
            catch (DecoderFallbackException)
            {
                throw Invalid($"{char.ToUpperInvariant(what[0])}{what[1..]} is not valid UTF-8", Position);
            }
            finally
            {
                Position += length;
            }
        }

        public float[] Floats(int count, string what)
        {
            Need((long)count * sizeof(float), what);
            var values = new float[count];
            for (int i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan((int)Position + i * sizeof(float)));
            Position += (long)count * sizeof(float);
            return values;
        }

        private void Need(long count, string what)
        {
            if (Remaining < count)
                throw new OptimizerException(ErrorCodes.ImatrixFileInvalid,
                    $"The file is truncated: {what} needs {count} bytes at byte {Position}, but the file has {bytes.Length} bytes.", path);
        }
    }
}

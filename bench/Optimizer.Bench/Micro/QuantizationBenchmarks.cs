using BenchmarkDotNet.Attributes;
using Optimizer.Engine.Quantization;

namespace Optimizer.Bench.Micro;

/// <summary>Q8_0 / Q4_0 kernels (GgmlQuantizer) on a 4096 × 4096 F32 matrix, single row and parallel matrix paths.</summary>
[MemoryDiagnoser]
public class QuantizationBenchmarks
{
    private const int Rows = 4096, Cols = 4096;
    private float[] _source = Array.Empty<float>();
    private byte[] _destination = Array.Empty<byte>();

    /// <summary>The block type.</summary>
    [Params(GgmlType.Q8_0, GgmlType.Q4_0)]
    public GgmlType Type { get; set; }

    /// <summary>Seeded normal-ish weights.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _source = new float[Rows * Cols];
        for (int i = 0; i < _source.Length; i++) _source[i] = (float)((random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 0.05);
        _destination = new byte[GgmlQuantizer.RowBytes(Type, Cols) * Rows];
    }

    /// <summary>One row of 4096 values.</summary>
    [Benchmark]
    public void QuantizeRow() => GgmlQuantizer.Quantize(Type, _source.AsSpan(0, Cols), _destination.AsSpan(0, (int)GgmlQuantizer.RowBytes(Type, Cols)));

    /// <summary>The whole 64 MiB matrix (parallel over rows).</summary>
    [Benchmark]
    public byte[] QuantizeMatrix() => GgmlQuantizer.QuantizeMatrix(Type, _source, Rows, Cols);
}

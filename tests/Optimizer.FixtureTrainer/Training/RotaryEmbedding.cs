using static TorchSharp.torch;

namespace Optimizer.FixtureTrainer.Training;

/// <summary>
/// Hugging Face Llama rotary position embedding: <c>inv_freq = 1 / theta^(2i/d)</c>, angles duplicated over both halves
/// (<c>cat(freqs, freqs)</c>), applied as <c>x·cos + rotate_half(x)·sin</c> with <c>rotate_half(x) = cat(-x₂, x₁)</c>.
/// </summary>
internal sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor _cos, _sin;
    private readonly long _half;

    public RotaryEmbedding(int headDim, int maxPositions, double theta)
    {
        _half = headDim / 2;
        var invFreq = new float[_half];
        for (int i = 0; i < _half; i++) invFreq[i] = (float)(1.0 / Math.Pow(theta, 2.0 * i / headDim));
        var cos = new float[maxPositions * headDim];
        var sin = new float[maxPositions * headDim];
        for (int p = 0; p < maxPositions; p++)
        {
            for (int i = 0; i < headDim; i++)
            {
                // Angles are formed in float32, as HF does (position * inv_freq), then cos/sin.
                float angle = p * invFreq[i % _half];
                cos[p * headDim + i] = MathF.Cos(angle);
                sin[p * headDim + i] = MathF.Sin(angle);
            }
        }
        _cos = tensor(cos, new long[] { maxPositions, headDim });
        _sin = tensor(sin, new long[] { maxPositions, headDim });
    }

    /// <summary>Rotates <paramref name="x"/> of shape [batch, heads, time, headDim] for positions 0..time-1.</summary>
    public Tensor Apply(Tensor x)
    {
        using var scope = NewDisposeScope();
        long t = x.shape[2];
        var cos = _cos.narrow(0, 0, t);
        var sin = _sin.narrow(0, 0, t);
        var x1 = x.narrow(-1, 0, _half);
        var x2 = x.narrow(-1, _half, _half);
        var rotated = cat(new[] { x2.neg(), x1 }, -1);
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _cos.Dispose();
        _sin.Dispose();
    }
}

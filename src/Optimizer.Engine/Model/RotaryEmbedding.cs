using Optimizer.Engine.Formats;
using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>
/// Rotary position embedding with the HF <c>rotate_half</c> convention: dimension <c>i</c> of a head pairs with
/// <c>i + head_dim/2</c>, inverse frequency <c>θ^(-2i/head_dim)</c> divided by the config's RoPE scaling divisor of pair
/// <c>i</c> (<see cref="ModelConfig.RopeInverseFrequencies"/>; docs/model-families.md). The angle tables are computed in
/// float64 and rounded to float32 once. With fewer rotary dimensions than the head has (phi3's
/// <c>partial_rotary_factor</c>) only the first <c>rotary_dim</c> dimensions are rotated (rotate-half within them) and
/// the rest pass through; longrope's attention factor multiplies the cos/sin tables.
/// </summary>
internal sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor _cos;
    private readonly Tensor _sin;
    private readonly int _rotaryDims;
    private readonly int _headDim;

    /// <summary>The tables of <paramref name="config"/>'s heads and RoPE frequencies for positions 0..<paramref name="length"/>-1.</summary>
    public static RotaryEmbedding For(ModelConfig config, int length, Device device)
        => new(config.RopeInverseFrequencies(length), config.HeadDim, length, device, config.RopeAttentionFactor);

    /// <summary>
    /// Tables for positions 0..<paramref name="length"/>-1 and the given per-pair inverse frequencies (head_dim/2 of
    /// them), shaped [1, 1, T, head_dim] for broadcasting.
    /// </summary>
    public RotaryEmbedding(double[] inverseFrequencies, int headDim, int length, Device device, double attentionFactor = 1.0)
    {
        int half = inverseFrequencies.Length;
        int dims = 2 * half;
        if (half == 0 || dims > headDim) throw new ArgumentException($"{inverseFrequencies.Length} inverse frequencies for a head of {headDim}.", nameof(inverseFrequencies));
        _rotaryDims = dims;
        _headDim = headDim;
        var cos = new float[length * dims];
        var sin = new float[length * dims];
        for (int p = 0; p < length; p++)
        {
            for (int i = 0; i < half; i++)
            {
                double angle = p * inverseFrequencies[i];
                float c = attentionFactor == 1.0 ? (float)Math.Cos(angle) : (float)(Math.Cos(angle) * attentionFactor);
                float s = attentionFactor == 1.0 ? (float)Math.Sin(angle) : (float)(Math.Sin(angle) * attentionFactor);
                cos[p * dims + i] = c;
                cos[p * dims + i + half] = c;
                sin[p * dims + i] = s;
                sin[p * dims + i + half] = s;
            }
        }
        var shape = new long[] { 1, 1, length, dims };
        _cos = TensorMoves.MoveTo(tensor(cos, shape), device).DetachFromDisposeScope();
        _sin = TensorMoves.MoveTo(tensor(sin, shape), device).DetachFromDisposeScope();
    }

    /// <summary>Rotates <paramref name="x"/> [B, heads, T, head_dim].</summary>
    public Tensor Apply(Tensor x)
    {
        if (_rotaryDims == _headDim) return Rotate(x);
        using Tensor rotary = x.narrow(-1, 0, _rotaryDims);
        using Tensor pass = x.narrow(-1, _rotaryDims, _headDim - _rotaryDims);
        using Tensor rotated = Rotate(rotary);
        return cat(new[] { rotated, pass }, -1);
    }

    private Tensor Rotate(Tensor x)
    {
        long half = x.shape[^1] / 2;
        using Tensor first = x.narrow(-1, 0, half);
        using Tensor second = x.narrow(-1, half, half);
        using Tensor negSecond = second.neg();
        using Tensor rotated = cat(new[] { negSecond, first }, -1);
        using Tensor a = x * _cos;
        using Tensor b = rotated * _sin;
        return ExplicitScalars.Add(a, b);
    }

    /// <summary>Frees the tables.</summary>
    public void Dispose()
    {
        _cos.Dispose();
        _sin.Dispose();
    }
}

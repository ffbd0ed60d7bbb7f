using Optimizer.Engine.Formats;
using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>
/// Rotary position embedding with the HF <c>rotate_half</c> convention: dimension <c>i</c> of a head pairs with
/// <c>i + head_dim/2</c>, inverse frequency <c>θ^(-2i/head_dim)</c> divided by the config's RoPE scaling divisor of pair
/// <c>i</c> (<see cref="ModelConfig.RopeInverseFrequencies"/>; docs/model-families.md). The angle tables are computed in
/// float64 and rounded to float32 once.
/// </summary>
internal sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor _cos;
    private readonly Tensor _sin;

    /// <summary>The tables of <paramref name="config"/>'s heads and RoPE frequencies for positions 0..<paramref name="length"/>-1.</summary>
    public static RotaryEmbedding For(ModelConfig config, int length, Device device)
        => new(config.RopeInverseFrequencies(), config.HeadDim, length, device);

    /// <summary>
    /// Tables for positions 0..<paramref name="length"/>-1 and the given per-pair inverse frequencies (head_dim/2 of
    /// them), shaped [1, 1, T, head_dim] for broadcasting.
    /// </summary>
    public RotaryEmbedding(double[] inverseFrequencies, int headDim, int length, Device device)
    {
        int half = headDim / 2;
        if (inverseFrequencies.Length != half) throw new ArgumentException($"{inverseFrequencies.Length} inverse frequencies for a head of {headDim}.", nameof(inverseFrequencies));
        var cos = new float[length * headDim];
        var sin = new float[length * headDim];
        for (int p = 0; p < length; p++)
        {
            for (int i = 0; i < half; i++)
            {
                double angle = p * inverseFrequencies[i];
                float c = (float)Math.Cos(angle), s = (float)Math.Sin(angle);
                cos[p * headDim + i] = c;
                cos[p * headDim + i + half] = c;
                sin[p * headDim + i] = s;
                sin[p * headDim + i + half] = s;
            }
        }
        var shape = new long[] { 1, 1, length, headDim };
        _cos = TensorMoves.MoveTo(tensor(cos, shape), device).DetachFromDisposeScope();
        _sin = TensorMoves.MoveTo(tensor(sin, shape), device).DetachFromDisposeScope();
    }

    /// <summary>Rotates <paramref name="x"/> [B, heads, T, head_dim].</summary>
    public Tensor Apply(Tensor x)
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

using Optimizer.Engine.Formats;
using Optimizer.Engine.Quantization;

namespace Optimizer.Tool.Eval;

/// <summary>
/// A weight scheme named on the command line: <c>int8</c> (per output channel) or <c>int4-g128</c> / <c>int4-g32</c>
/// (safetensors export), or a GGUF recipe (<see cref="Recipe"/>, e.g. <c>Q8_0</c>, <c>Q4_0</c>, <c>Q4_K_M</c>).
/// </summary>
public sealed record WeightScheme(int Bits, int GroupSize, QuantizationRecipe? Recipe = null)
{
    /// <summary>The canonical spelling (<c>int8</c>, <c>int4-g128</c>, <c>int4-g32</c>, or the recipe's text).</summary>
    public string Name => Recipe?.Text ?? (Bits == 8 ? "int8" : $"int4-g{GroupSize}");

    /// <summary>The round trip of this scheme for a model with <paramref name="config"/>.</summary>
    public IWeightRoundTrip RoundTrip(ModelConfig config) => Recipe is not null
        ? new GgufRoundTrip(Recipe, config)
        : new IntRoundTrip(config, Bits, Bits == 4 ? GroupSize : 128);
}

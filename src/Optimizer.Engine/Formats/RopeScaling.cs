using System.Globalization;
using System.Text.Json;

namespace Optimizer.Engine.Formats;

/// <summary>The RoPE frequency schemes the engine implements (docs/model-families.md, "RoPE scaling").</summary>
public enum RopeScalingKind
{
    /// <summary>Plain RoPE: θ_i = base^(−2i/d).</summary>
    None,

    /// <summary>Position interpolation: every frequency divided by <c>factor</c>.</summary>
    Linear,

    /// <summary>Llama 3.1's scheme: low frequencies ÷ factor, high ones kept, a smooth blend between.</summary>
    Llama3,

    /// <summary>
    /// Phi-3's LongRoPE (config name <c>longrope</c>, formerly <c>su</c>): pair i's frequency divided by
    /// <c>short_factor[i]</c> (sequences up to the original context) or <c>long_factor[i]</c> (longer ones), cos/sin
    /// multiplied by an attention factor (docs/model-families.md, "Phi-3").
    /// </summary>
    Longrope,

    /// <summary>
    /// YaRN (Qwen2.5/Qwen3 long context): per pair a blend of the plain and the interpolated (÷ factor) frequency by
    /// a linear ramp between the correction dimensions of β_fast = 32 and β_slow = 1 rotations over the original
    /// context; cos/sin × (0.1·ln(factor) + 1).
    /// </summary>
    Yarn,
}

/// <summary>
/// The <c>rope_scaling</c> object of a Hugging Face config, parsed and validated: the kind and its parameters, the
/// per-pair inverse frequencies the forward pass rotates with, and the per-pair divisors llama.cpp reads from its
/// <c>rope_freqs</c> tensor. A scheme llama.cpp cannot run as Hugging Face does (<c>dynamic</c>, <c>yarn</c>,
/// <c>longrope</c> on a family without it) is refused with its reason rather than approximated.
/// </summary>
public sealed record RopeScaling(RopeScalingKind Kind, double Factor, double LowFrequencyFactor, double HighFrequencyFactor, int OriginalContext)
{
    /// <summary>Longrope's per-pair divisors for sequences up to the original context (null for other kinds).</summary>
    public double[]? ShortFactors { get; init; }

    /// <summary>Longrope's per-pair divisors for sequences longer than the original context (null for other kinds).</summary>
    public double[]? LongFactors { get; init; }

    /// <summary>Longrope's explicit <c>attention_factor</c>, when the config gives one (else derived from the context ratio).</summary>
    public double? AttentionFactor { get; init; }

    /// <summary>Plain RoPE.</summary>
    public static RopeScaling None { get; } = new(RopeScalingKind.None, 1, 0, 0, 0);

    /// <summary>The config's name of <see cref="Kind"/> (<c>linear</c>, <c>llama3</c>; null for none).</summary>
    public string? TypeName => Kind switch
    {
        RopeScalingKind.Linear => "linear",
        RopeScalingKind.Llama3 => "llama3",
        RopeScalingKind.Longrope => "longrope",
        RopeScalingKind.Yarn => "yarn",
        _ => null,
    };

    /// <summary>
    /// Parses <paramref name="element"/> (absent or null = plain RoPE). Accepts the key <c>rope_type</c> or the older
    /// <c>type</c>; <c>default</c> is plain RoPE. Throws <see cref="ErrorCodes.UnsupportedConfigValue"/> for a kind the
    /// engine does not implement and <see cref="ErrorCodes.ConfigInvalid"/> for a missing or out-of-range parameter,
    /// naming the key.
    /// </summary>
    public static RopeScaling Parse(JsonElement? element, string path)
    {
        if (element is not { } e || e.ValueKind == JsonValueKind.Null) return None;
        if (e.ValueKind != JsonValueKind.Object)
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rope_scaling\" must be an object or null, not {e.GetRawText()}.", path);
        string? type = Text(e, "rope_type") ?? Text(e, "type");
        switch (type)
        {
            case null:
                throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rope_scaling\" {e.GetRawText()} names no \"rope_type\".", path);
            case "default":
                return None;
            case "linear":
                return new RopeScaling(RopeScalingKind.Linear, Positive(e, "factor", path), 0, 0, 0);
            case "llama3":
            {
                double factor = Positive(e, "factor", path);
                double low = Positive(e, "low_freq_factor", path), high = Positive(e, "high_freq_factor", path);
                if (!(high > low))
                    throw new OptimizerException(ErrorCodes.ConfigInvalid,
                        $"\"rope_scaling.high_freq_factor\" ({Format(high)}) must be greater than \"low_freq_factor\" ({Format(low)}).", path);
                return new RopeScaling(RopeScalingKind.Llama3, factor, low, high, OriginalContextOf(e, path, required: true));
            }
            case "longrope" or "su":
            {
                double? attention = e.TryGetProperty("attention_factor", out var af) && af.ValueKind != JsonValueKind.Null ? Positive(e, "attention_factor", path) : null;
                int original = OriginalContextOf(e, path, required: false);
                return new RopeScaling(RopeScalingKind.Longrope, 1, 0, 0, original)
                {
                    ShortFactors = Factors(e, "short_factor", path),
                    LongFactors = Factors(e, "long_factor", path),
                    AttentionFactor = attention,
                };
            }
            case "yarn":
            {
                double factor = Positive(e, "factor", path);
                if (factor < 1)
                    throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rope_scaling.factor\" of yarn must be at least 1, not {Format(factor)}.", path);
                int original = OriginalContextOf(e, path, required: false);
                // What llama.cpp fixes (its defaults) must be what the config says, or the file would compute other angles.
                foreach (var (key, expected) in new[] { ("beta_fast", 32.0), ("beta_slow", 1.0) })
                {
                    if (e.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null && !(v.ValueKind == JsonValueKind.Number && v.GetDouble() == expected))
                        throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"rope_scaling.{key}\" {v.GetRawText()} is not supported for yarn (only {Format(expected)}, llama.cpp's value).", path);
                }
                foreach (string key in new[] { "attention_factor", "mscale", "mscale_all_dim" })
                {
                    if (e.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null)
                        throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"rope_scaling.{key}\" is not supported for yarn (the attention factor is 0.1·ln(factor) + 1, as llama.cpp computes it).", path);
                }
                if (e.TryGetProperty("truncate", out var truncate) && truncate.ValueKind == JsonValueKind.False)
                    throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, "\"rope_scaling.truncate\": false is not supported for yarn (llama.cpp rounds the correction range).", path);
                return new RopeScaling(RopeScalingKind.Yarn, factor, 0, 0, original);
            }
            case "dynamic":
                throw new OptimizerException(ErrorCodes.UnsupportedConfigValue,
                    "\"rope_scaling\" of type \"dynamic\" is not supported: its frequencies change with the sequence length and llama.cpp has no such mode, so the exported file could not match the model. Supported: linear, llama3, yarn, longrope (phi3).", path);
            default:
                throw new OptimizerException(ErrorCodes.UnsupportedConfigValue,
                    $"\"rope_scaling\" of type \"{type}\" is not supported; supported: linear, llama3, yarn, longrope (phi3).", path);
        }
    }

    /// <summary>
    /// The inverse frequency of each rotary pair i &lt; <paramref name="rotaryDims"/>/2: base^(−2i/d), divided by
    /// <see cref="Divisors"/>. Computed in float64.
    /// </summary>
    public double[] InverseFrequencies(int rotaryDims, double theta, bool longContext = false)
    {
        double[] divisors = Divisors(rotaryDims, theta, longContext);
        var inverse = new double[rotaryDims / 2];
        for (int i = 0; i < inverse.Length; i++) inverse[i] = Math.Pow(theta, -2.0 * i / rotaryDims) / divisors[i];
        return inverse;
    }

    /// <summary>
    /// What each pair's plain frequency is divided by: 1 for plain RoPE, <see cref="Factor"/> for linear; for llama3
    /// with wavelength λ = 2π / base^(−2i/d): 1 when λ &lt; original/high, factor when λ &gt; original/low, else
    /// 1 / ((1 − s)/factor + s) with s = (original/λ − low) / (high − low). These are the values llama.cpp's
    /// <c>rope_freqs</c> tensor holds.
    /// </summary>
    public double[] Divisors(int rotaryDims, double theta, bool longContext = false)
    {
        if (Kind == RopeScalingKind.Longrope)
        {
            double[] factors = (longContext ? LongFactors : ShortFactors)!;
            if (factors.Length != rotaryDims / 2)
                throw new ArgumentException($"{factors.Length} longrope factors for {rotaryDims} rotary dimensions.", nameof(rotaryDims));
            return (double[])factors.Clone();
        }
        var divisors = new double[rotaryDims / 2];
        for (int i = 0; i < divisors.Length; i++)
        {
            double frequency = Math.Pow(theta, -2.0 * i / rotaryDims);
            divisors[i] = Kind switch
            {
                RopeScalingKind.Linear => Factor,
                RopeScalingKind.Llama3 => Llama3Divisor(frequency),
                _ => 1.0,
            };
        }
        return divisors;
    }

    /// <summary>
    /// YaRN's inverse frequencies over <paramref name="originalContext"/>: with ω_i = θ^(−2i/d), the correction
    /// dimension of r rotations c(r) = d·ln(L / (2π r)) / (2 ln θ), low = max(0, ⌊c(32)⌋), high = min(d − 1, ⌈c(1)⌉),
    /// the ramp e_i = 1 − clamp((i − low) / (high − low), 0, 1) (high − low at least 0.001), and
    /// ω'_i = ω_i/factor · (1 − e_i) + ω_i · e_i.
    /// </summary>
    public double[] YarnInverseFrequencies(int rotaryDims, double theta, int originalContext)
    {
        double Correction(double rotations) => rotaryDims * Math.Log(originalContext / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));
        double low = Math.Max(0, Math.Floor(Correction(32))), high = Math.Min(rotaryDims - 1, Math.Ceiling(Correction(1)));
        double span = Math.Max(0.001, high - low);
        var inverse = new double[rotaryDims / 2];
        for (int i = 0; i < inverse.Length; i++)
        {
            double omega = Math.Pow(theta, -2.0 * i / rotaryDims);
            double extrapolation = 1 - Math.Clamp((i - low) / span, 0, 1);
            inverse[i] = omega / Factor * (1 - extrapolation) + omega * extrapolation;
        }
        return inverse;
    }

    /// <summary>YaRN's factor on cos/sin: 0.1·ln(factor) + 1 (1 for a factor of 1).</summary>
    public double YarnAttentionFactor => Factor <= 1 ? 1.0 : 0.1 * Math.Log(Factor) + 1;

    private double Llama3Divisor(double frequency)
    {
        double wavelength = 2 * Math.PI / frequency;
        if (wavelength < OriginalContext / HighFrequencyFactor) return 1.0;
        if (wavelength > OriginalContext / LowFrequencyFactor) return Factor;
        double smooth = (OriginalContext / wavelength - LowFrequencyFactor) / (HighFrequencyFactor - LowFrequencyFactor);
        return 1.0 / ((1 - smooth) / Factor + smooth);
    }

    private static double[] Factors(JsonElement e, string key, string path)
    {
        if (!e.TryGetProperty(key, out var v) || v.ValueKind != JsonValueKind.Array || v.GetArrayLength() == 0)
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rope_scaling\" of type longrope needs a non-empty list \"{key}\".", path);
        var values = new double[v.GetArrayLength()];
        int i = 0;
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !(item.GetDouble() > 0) || double.IsInfinity(item.GetDouble()))
                throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rope_scaling.{key}[{i}]\" must be a positive number, not {item.GetRawText()}.", path);
            values[i++] = item.GetDouble();
        }
        return values;
    }

    /// <summary>
    /// <c>rope_scaling.original_max_position_embeddings</c> as a positive integer; 0 when it is absent or null and not
    /// <paramref name="required"/>.
    /// </summary>
    private static int OriginalContextOf(JsonElement e, string path, bool required)
    {
        const string Key = "original_max_position_embeddings";
        if (!required && (!e.TryGetProperty(Key, out var o) || o.ValueKind == JsonValueKind.Null)) return 0;
        double value = Positive(e, Key, path);
        if (value != Math.Floor(value) || value > int.MaxValue)
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rope_scaling.{Key}\" must be an integer, not {Format(value)}.", path);
        return (int)value;
    }

    private static string? Text(JsonElement e, string key)
        => e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static double Positive(JsonElement e, string key, string path)
    {
        if (!e.TryGetProperty(key, out var v) || v.ValueKind != JsonValueKind.Number)
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rope_scaling\" needs a number \"{key}\".", path);
        double value = v.GetDouble();
        if (!(value > 0) || double.IsInfinity(value))
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rope_scaling.{key}\" must be a positive number, not {v.GetRawText()}.", path);
        return value;
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

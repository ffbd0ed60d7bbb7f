using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// The per-tensor choice of ggml type for a GGUF file, mimicking llama.cpp's <c>llama_tensor_get_type</c> (without an
/// importance matrix) for its file types: <c>F32</c>, <c>F16</c>, <c>BF16</c>, <c>Q8_0</c>, <c>Q4_0</c>, <c>Q4_K</c>
/// (llama.cpp's Q4_K_S), <c>Q6_K</c> and the mixed <c>Q4_K_M</c>, plus explicit per-kind overrides
/// (<c>Q4_K_M,output=Q8_0,attn_v=Q6_K</c>). Differences from llama.cpp are documented on <see cref="TypeFor"/>.
/// </summary>
public sealed record QuantizationRecipe
{
    private static readonly (string Name, GgmlType Type, LlamaFileType FileType)[] Bases =
    {
        ("F32", GgmlType.F32, LlamaFileType.AllF32),
        ("F16", GgmlType.F16, LlamaFileType.MostlyF16),
        ("BF16", GgmlType.BF16, LlamaFileType.MostlyBF16),
        ("Q8_0", GgmlType.Q8_0, LlamaFileType.MostlyQ8_0),
        ("Q4_0", GgmlType.Q4_0, LlamaFileType.MostlyQ4_0),
        ("Q4_K", GgmlType.Q4_K, LlamaFileType.MostlyQ4_K_S),
        ("Q6_K", GgmlType.Q6_K, LlamaFileType.MostlyQ6_K),
        ("Q4_K_M", GgmlType.Q4_K, LlamaFileType.MostlyQ4_K_M),
    };

    /// <summary>
    /// The types an override may name. <see cref="GgmlType"/> has more members (encoders without a recipe rule yet);
    /// recipes keep to this list until llama.cpp's rules for the others are mirrored.
    /// </summary>
    private static readonly GgmlType[] OverrideTypes =
        { GgmlType.F32, GgmlType.F16, GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.BF16 };

    /// <summary>The recipe names <see cref="Parse"/> accepts (case-insensitive).</summary>
    public static IReadOnlyList<string> Names { get; } = Bases.Select(b => b.Name).ToArray();

    private QuantizationRecipe(string baseName, GgmlType defaultType, LlamaFileType fileType, IReadOnlyList<KeyValuePair<string, GgmlType>> overrides)
    {
        BaseName = baseName;
        DefaultType = defaultType;
        FileType = fileType;
        Overrides = overrides;
        Text = string.Join(",", new[] { baseName }.Concat(overrides.Select(o => $"{o.Key}={GgmlTypes.Name(o.Value)}")));
    }

    /// <summary>The base recipe name in its canonical spelling, e.g. <c>Q4_K_M</c>.</summary>
    public string BaseName { get; }

    /// <summary>The type of a 2-D weight that no rule or override changes.</summary>
    public GgmlType DefaultType { get; }

    /// <summary>The llama.cpp file type (GGUF <c>general.file_type</c>) this recipe corresponds to.</summary>
    public LlamaFileType FileType { get; }

    /// <summary>Explicit (tensor kind, type) overrides in the order given.</summary>
    public IReadOnlyList<KeyValuePair<string, GgmlType>> Overrides { get; }

    /// <summary>The canonical text, e.g. <c>Q4_K_M,output=Q8_0</c>; <see cref="Parse"/> of it gives an equal recipe.</summary>
    public string Text { get; }

    /// <summary>The recipe for a base name without overrides.</summary>
    public static QuantizationRecipe Of(GgmlType type) => Parse(GgmlTypes.Name(type));

    /// <summary>
    /// Parses <c>BASE[,kind=TYPE]...</c>: BASE one of <see cref="Names"/>, kind one of <see cref="TensorKinds.All"/>,
    /// TYPE a ggml type name. Bad text is OOPT1100 naming the valid choices.
    /// </summary>
    public static QuantizationRecipe Parse(string text)
    {
        string[] items = (text ?? "").Split(',');
        string head = items[0].Trim();
        int b = Array.FindIndex(Bases, x => string.Equals(x.Name, head, StringComparison.OrdinalIgnoreCase));
        if (b < 0)
            throw Invalid(head.Length == 0 ? "The quantization is empty" : $"Unknown quantization '{head}'",
                $"valid: {string.Join(", ", Names)}");
        var overrides = new List<KeyValuePair<string, GgmlType>>();
        for (int i = 1; i < items.Length; i++)
        {
            string item = items[i].Trim();
            int eq = item.IndexOf('=');
            if (eq <= 0 || eq == item.Length - 1)
                throw Invalid($"Quantization override '{item}' is not kind=TYPE", $"e.g. {Names[^1]},output=Q8_0");
            string kind = item[..eq].Trim().ToLowerInvariant();
            string typeName = item[(eq + 1)..].Trim();
            if (!TensorKinds.All.Contains(kind))
                throw Invalid($"Unknown tensor kind '{item[..eq].Trim()}' in '{item}'", $"valid kinds: {string.Join(", ", TensorKinds.All)}");
            if (!GgmlTypes.TryParse(typeName, out GgmlType type) || Array.IndexOf(OverrideTypes, type) < 0)
                throw Invalid($"Unknown type '{typeName}' in '{item}'",
                    $"valid types: {string.Join(", ", OverrideTypes.Select(GgmlTypes.Name))}");
            if (overrides.Any(o => o.Key == kind))
                throw Invalid($"Tensor kind '{kind}' is overridden twice", "give each kind once");
            overrides.Add(new(kind, type));
        }
        return new QuantizationRecipe(Bases[b].Name, Bases[b].Type, Bases[b].FileType, overrides);
    }

    /// <summary>
    /// The type of one tensor (Hugging Face <paramref name="shape"/>, [out, in] for linears; the row length is the last
    /// dimension). 1-D tensors (norms, biases) stay F32. For quantized recipes, as llama.cpp: the output head (or the
    /// tied token embedding) is Q6_K unless the recipe is Q8_0 (Q8_0 when its rows are not whole blocks of the default
    /// type); for Q4_K_M, attn_v and ffn_down of the "use_more_bits" layers (first and last eighth, every third in
    /// between) are Q6_K. Overrides replace the result for their kind. Rows that are not whole blocks fall back as
    /// llama.cpp does (Q6_K → Q8_0), except where it would use a type recipes do not choose or give up: Q4_K falls back to
    /// Q8_0 (llama.cpp: Q5_0), and Q8_0/Q4_0 to F16 (llama.cpp: fails), and any remaining misfit to F16.
    /// llama.cpp's Q4_K_S bumps (first attn_v/ffn_down layers to Q5_K) and its 70B/expert rules are not applied.
    /// </summary>
    public GgmlType TypeFor(string hfTensorName, TensorRole role, int layer, long[] shape, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(config);
        string? kind = TensorKinds.Of(role);
        if (kind is null || shape.Length < 2)
            return GgmlType.F32;
        long rowLength = shape[^1];
        bool quantized = GgmlTypes.BlockSize(DefaultType) > 1;
        bool actsAsOutput = role == TensorRole.OutputHead || (role == TensorRole.TokenEmbedding && config.TieWordEmbeddings);

        GgmlType type = DefaultType;
        if (quantized)
        {
            if (actsAsOutput)
                type = rowLength % GgmlTypes.BlockSize(DefaultType) != 0 ? GgmlType.Q8_0
                    : DefaultType != GgmlType.Q8_0 ? GgmlType.Q6_K : GgmlType.Q8_0;
            else if (FileType == LlamaFileType.MostlyQ4_K_M && (role == TensorRole.V || role == TensorRole.Down)
                     && UseMoreBits(layer, config.NumHiddenLayers))
                type = GgmlType.Q6_K;
        }

        GgmlType? chosen = Override(kind);
        if (actsAsOutput && role == TensorRole.TokenEmbedding)
            chosen = Override("token_embd") ?? Override("output");
        if (chosen is GgmlType forced)
            type = forced;
        return Fallback(type, rowLength);
    }

    /// <summary>llama.cpp's <c>use_more_bits(i_layer, n_layers)</c>.</summary>
    public static bool UseMoreBits(int layer, int layers) =>
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;

    /// <summary>True when the two recipes have the same canonical text.</summary>
    public bool Equals(QuantizationRecipe? other) => other is not null && Text == other.Text;

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

    /// <inheritdoc/>
    public override string ToString() => Text;

    private GgmlType? Override(string kind)
    {
        foreach (var o in Overrides)
            if (o.Key == kind) return o.Value;
        return null;
    }

    private static GgmlType Fallback(GgmlType type, long rowLength)
    {
        while (rowLength % GgmlTypes.BlockSize(type) != 0)
        {
            type = type switch
            {
                GgmlType.Q6_K or GgmlType.Q4_K => GgmlType.Q8_0,
                _ => GgmlType.F16,
            };
        }
        return type;
    }

    private static OptimizerException Invalid(string what, string hint) =>
        new(ErrorCodes.QuantizationRecipeInvalid, $"{what}; {hint}.");
}

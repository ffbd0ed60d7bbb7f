using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// The per-tensor choice of ggml type for a GGUF file: llama.cpp's <c>llama_tensor_get_type</c> for its file types
/// <c>Q4_0</c>, <c>Q4_1</c>, <c>Q5_0</c>, <c>Q5_1</c>, <c>Q8_0</c>, <c>Q2_K</c>, <c>Q3_K_S/M/L</c>, <c>Q4_K_S/M</c>,
/// <c>Q5_K_S/M</c>, <c>Q6_K</c>, <c>F16</c>, <c>BF16</c>, <c>F32</c> (llama-quantize's aliases <c>Q3_K</c>, <c>Q4_K</c>,
/// <c>Q5_K</c> = the <c>_M</c> mixes), with or without an importance matrix, plus explicit per-kind overrides
/// (<c>Q4_K_M,output=Q8_0,attn_v=Q6_K</c>). The rules are on <see cref="TypeFor(string, TensorRole, int, long[], ModelConfig, bool)"/>;
/// docs/quantization.md has the table.
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
        ("Q4_1", GgmlType.Q4_1, LlamaFileType.MostlyQ4_1),
        ("Q5_0", GgmlType.Q5_0, LlamaFileType.MostlyQ5_0),
        ("Q5_1", GgmlType.Q5_1, LlamaFileType.MostlyQ5_1),
        ("Q2_K", GgmlType.Q2_K, LlamaFileType.MostlyQ2_K),
        ("Q3_K_S", GgmlType.Q3_K, LlamaFileType.MostlyQ3_K_S),
        ("Q3_K_M", GgmlType.Q3_K, LlamaFileType.MostlyQ3_K_M),
        ("Q3_K_L", GgmlType.Q3_K, LlamaFileType.MostlyQ3_K_L),
        ("Q4_K_S", GgmlType.Q4_K, LlamaFileType.MostlyQ4_K_S),
        ("Q4_K_M", GgmlType.Q4_K, LlamaFileType.MostlyQ4_K_M),
        ("Q5_K_S", GgmlType.Q5_K, LlamaFileType.MostlyQ5_K_S),
        ("Q5_K_M", GgmlType.Q5_K, LlamaFileType.MostlyQ5_K_M),
        ("Q6_K", GgmlType.Q6_K, LlamaFileType.MostlyQ6_K),
    };

    /// <summary>llama-quantize's own aliases (tools/quantize/quantize.cpp <c>QUANT_OPTIONS</c>): the medium mixes.</summary>
    private static readonly (string Alias, string Name)[] AliasTable =
    {
        ("Q3_K", "Q3_K_M"),
        ("Q4_K", "Q4_K_M"),
        ("Q5_K", "Q5_K_M"),
    };

    /// <summary>The types an override may name: every type the quantizer implements.</summary>
    private static readonly GgmlType[] OverrideTypes = Enum.GetValues<GgmlType>();

    /// <summary>The canonical recipe names <see cref="Parse"/> accepts (case-insensitive), in llama.cpp's file-type order.</summary>
    public static IReadOnlyList<string> Names { get; } = Bases.Select(b => b.Name).ToArray();

    /// <summary>The aliases <see cref="Parse"/> also accepts, each with the recipe it means (<c>Q4_K</c> → <c>Q4_K_M</c>, as llama-quantize).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Aliases { get; } =
        AliasTable.Select(a => new KeyValuePair<string, string>(a.Alias, a.Name)).ToArray();

    private QuantizationRecipe(string baseName, GgmlType defaultType, LlamaFileType fileType, IReadOnlyList<KeyValuePair<string, GgmlType>> overrides)
    {
        BaseName = baseName;
        DefaultType = defaultType;
        FileType = fileType;
        Overrides = overrides;
        Text = string.Join(",", new[] { baseName }.Concat(overrides.Select(o => $"{o.Key}={GgmlTypes.Name(o.Value)}")));
    }

    /// <summary>The base recipe name in its canonical spelling, e.g. <c>Q4_K_M</c> (also for the alias <c>Q4_K</c>).</summary>
    public string BaseName { get; }

    /// <summary>The type of a 2-D weight that no rule or override changes (llama.cpp's <c>llama_ftype_get_default_type</c>).</summary>
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
    /// Parses <c>BASE[,kind=TYPE]...</c>: BASE one of <see cref="Names"/> or <see cref="Aliases"/>, kind one of
    /// <see cref="TensorKinds.All"/>, TYPE a ggml type name. Bad text is OOPT1100 naming the valid choices.
    /// </summary>
    public static QuantizationRecipe Parse(string text)
    {
        string[] items = (text ?? "").Split(',');
        string head = items[0].Trim();
        foreach (var (alias, name) in AliasTable)
            if (string.Equals(alias, head, StringComparison.OrdinalIgnoreCase))
                head = name;
        int b = Array.FindIndex(Bases, x => string.Equals(x.Name, head, StringComparison.OrdinalIgnoreCase));
        if (b < 0)
            throw Invalid(head.Length == 0 ? "The quantization is empty" : $"Unknown quantization '{head}'",
                $"valid: {string.Join(", ", Names)} (aliases: {string.Join(", ", AliasTable.Select(a => $"{a.Alias} = {a.Name}"))})");
        var overrides = new List<KeyValuePair<string, GgmlType>>();
        for (int i = 1; i < items.Length; i++)
        {
            string item = items[i].Trim();
            int eq = item.IndexOf('=');
            if (eq <= 0 || eq == item.Length - 1)
                throw Invalid($"Quantization override '{item}' is not kind=TYPE", "e.g. Q4_K_M,output=Q8_0");
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

    /// <summary>The type of one tensor without an importance matrix (see the overload with <c>withImportance</c>).</summary>
    public GgmlType TypeFor(string hfTensorName, TensorRole role, int layer, long[] shape, ModelConfig config) =>
        TypeFor(hfTensorName, role, layer, shape, config, withImportance: false);

    /// <summary>
    /// The type of one tensor (Hugging Face <paramref name="shape"/>, [out, in] for linears; the row length is the last
    /// dimension), as llama.cpp's <c>llama_tensor_get_type</c> chooses it for a dense Llama/Qwen2 model:
    /// <list type="bullet">
    /// <item>1-D tensors (norms, biases) stay F32; with an F32/F16/BF16 recipe every 2-D weight has that type.</item>
    /// <item>The output head, or the token embedding when the embeddings are tied: Q8_0 when its rows are not whole
    /// blocks of the default type, else Q6_K unless the recipe is Q8_0.</item>
    /// <item>attn_v (layer i of n): Q2_K → Q4_K if heads/kv-heads ≥ 4 else Q3_K; Q3_K_M → Q5_K for i &lt; 2 else Q4_K;
    /// Q3_K_L → Q5_K; Q4_K_M/Q5_K_M → Q6_K where <see cref="UseMoreBits"/>; Q4_K_S → Q5_K for i &lt; 4; then for a
    /// 70B model (80 layers; for llama also heads ≠ kv-heads) Q3_K/Q4_K → Q5_K.</item>
    /// <item>ffn_down: Q2_K → Q3_K; Q3_K_M → Q5_K for i &lt; n/16 else Q4_K; Q3_K_L → Q5_K; Q4_K_M → Q6_K where
    /// <see cref="UseMoreBits"/>; Q5_K_M → Q6_K likewise; Q4_K_S → Q5_K for i &lt; n/8; with
    /// <paramref name="withImportance"/>, Q4_0/Q5_0 → Q4_1/Q5_1 for i &lt; n/8.</item>
    /// <item>attn_output: Q2_K → Q3_K; Q3_K_M → Q4_K; Q3_K_L → Q5_K. Everything else: the default type.</item>
    /// </list>
    /// An override replaces the rule's choice for its kind (for a tied embedding <c>token_embd=</c>, else <c>output=</c>).
    /// Rows that are not whole blocks fall back as llama.cpp's <c>tensor_type_fallback</c>: Q2_K/Q3_K → Q4_0,
    /// Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, then F16 if still not whole blocks. Where llama.cpp has no fallback and
    /// refuses the model (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 with rows that are not multiples of 32) we write F16 instead.
    /// </summary>
    public GgmlType TypeFor(string hfTensorName, TensorRole role, int layer, long[] shape, ModelConfig config, bool withImportance)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(config);
        string? kind = TensorKinds.Of(role);
        if (kind is null || shape.Length < 2)
            return GgmlType.F32;
        long rowLength = shape[^1];
        bool actsAsOutput = role == TensorRole.OutputHead || (role == TensorRole.TokenEmbedding && config.TieWordEmbeddings);

        GgmlType? chosen = actsAsOutput && role == TensorRole.TokenEmbedding
            ? Override("token_embd") ?? Override("output")
            : Override(kind);
        GgmlType type = chosen
            ?? (GgmlTypes.BlockSize(DefaultType) > 1 ? MixedType(role, layer, rowLength, config, actsAsOutput, withImportance) : DefaultType);
        return Fallback(type, rowLength);
    }

    /// <summary>llama.cpp's <c>use_more_bits(i_layer, n_layers)</c>: the first and last eighth, and every third layer in between.</summary>
    public static bool UseMoreBits(int layer, int layers) =>
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;

    /// <summary>
    /// llama.cpp's <c>tensor_type_fallback</c> for rows of <paramref name="rowLength"/>: the type itself when the rows are
    /// whole blocks of it; else Q2_K/Q3_K → Q4_0, Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, and F16 when that still does not
    /// fit. Blocks-of-32 types (for which llama.cpp has no fallback and fails) give F16.
    /// </summary>
    public static GgmlType Fallback(GgmlType type, long rowLength)
    {
        if (rowLength % GgmlTypes.BlockSize(type) == 0)
            return type;
        GgmlType next = type switch
        {
            GgmlType.Q2_K or GgmlType.Q3_K => GgmlType.Q4_0,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ => GgmlType.F16,
        };
        return rowLength % GgmlTypes.BlockSize(next) == 0 ? next : GgmlType.F16;
    }

    /// <summary>True when the two recipes have the same canonical text.</summary>
    public bool Equals(QuantizationRecipe? other) => other is not null && Text == other.Text;

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

    /// <inheritdoc/>
    public override string ToString() => Text;

    /// <summary><c>llama_tensor_get_type_impl</c> for a quantized file type (counters: the attn_v index and the ffn_down
    /// layer are both the layer number, as llama.cpp visits one attn_v and one ffn_down per layer in layer order).</summary>
    private GgmlType MixedType(TensorRole role, int layer, long rowLength, ModelConfig config, bool actsAsOutput, bool withImportance)
    {
        GgmlType d = DefaultType;
        int n = config.NumHiddenLayers;
        if (actsAsOutput)
            return rowLength % GgmlTypes.BlockSize(d) != 0 ? GgmlType.Q8_0 : d != GgmlType.Q8_0 ? GgmlType.Q6_K : GgmlType.Q8_0;
        switch (role)
        {
            case TensorRole.V:
            {
                GgmlType t = d;
                switch (FileType)
                {
                    case LlamaFileType.MostlyQ2_K: t = HeadsPerKvHead(config) >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K; break;
                    case LlamaFileType.MostlyQ3_K_M: t = layer < 2 ? GgmlType.Q5_K : GgmlType.Q4_K; break;
                    case LlamaFileType.MostlyQ3_K_L: t = GgmlType.Q5_K; break;
                    case LlamaFileType.MostlyQ4_K_M or LlamaFileType.MostlyQ5_K_M when UseMoreBits(layer, n): t = GgmlType.Q6_K; break;
                    case LlamaFileType.MostlyQ4_K_S when layer < 4: t = GgmlType.Q5_K; break;
                }
                // llama.cpp: "in the 70B model we have 8 heads sharing the same attn_v weights" (LLM_TYPE_70B).
                if (Is70B(config) && t is GgmlType.Q3_K or GgmlType.Q4_K)
                    t = GgmlType.Q5_K;
                return t;
            }
            case TensorRole.Down:
                return FileType switch
                {
                    LlamaFileType.MostlyQ2_K => GgmlType.Q3_K,
                    LlamaFileType.MostlyQ3_K_M => layer < n / 16 ? GgmlType.Q5_K : GgmlType.Q4_K,
                    LlamaFileType.MostlyQ3_K_L => GgmlType.Q5_K,
                    LlamaFileType.MostlyQ4_K_M => UseMoreBits(layer, n) ? GgmlType.Q6_K : d,
                    LlamaFileType.MostlyQ5_K_M when UseMoreBits(layer, n) => GgmlType.Q6_K,
                    LlamaFileType.MostlyQ4_K_S when layer < n / 8 => GgmlType.Q5_K,
                    // "Guard against craziness in the first few ffn_down layers that can happen even with imatrix for Q4_0/Q5_0."
                    LlamaFileType.MostlyQ4_0 when withImportance && layer < n / 8 => GgmlType.Q4_1,
                    LlamaFileType.MostlyQ5_0 when withImportance && layer < n / 8 => GgmlType.Q5_1,
                    _ => d,
                };
            case TensorRole.O:
                return FileType switch
                {
                    LlamaFileType.MostlyQ2_K => GgmlType.Q3_K,
                    LlamaFileType.MostlyQ3_K_M => GgmlType.Q4_K,
                    LlamaFileType.MostlyQ3_K_L => GgmlType.Q5_K,
                    _ => d,
                };
            default:
                return d;
        }
    }

    /// <summary>llama.cpp's <c>hparams.n_gqa()</c>: heads per key/value head (integer division; 0 without key/value heads).</summary>
    private static int HeadsPerKvHead(ModelConfig config) =>
        config.KeyValueHeads <= 0 ? 0 : config.NumAttentionHeads / config.KeyValueHeads;

    /// <summary>
    /// Whether llama.cpp's loader labels the model <c>LLM_TYPE_70B</c>: 80 layers, and for the llama architecture (which
    /// we also write for mistral) grouped-query attention (else it is LLaMA-65B); qwen2 is 70B at 80 layers regardless.
    /// </summary>
    private static bool Is70B(ModelConfig config) =>
        config.NumHiddenLayers == 80
        && (LlamaGgufNames.Architecture(config) != "llama" || config.NumAttentionHeads != config.KeyValueHeads);

    private GgmlType? Override(string kind)
    {
        foreach (var o in Overrides)
            if (o.Key == kind) return o.Value;
        return null;
    }

    private static OptimizerException Invalid(string what, string hint) =>
        new(ErrorCodes.QuantizationRecipeInvalid, $"{what}; {hint}.");
}

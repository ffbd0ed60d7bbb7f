using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// Opens a Llama-family, Phi-3 or Gemma GGUF file (architecture <c>llama</c>, <c>qwen2</c>, <c>qwen3</c>, <c>phi3</c>, <c>gemma2</c> or <c>gemma3</c>) as a <see cref="ModelFolder"/>: the
/// config from the metadata, the weights with Hugging Face names and row order (<see cref="GgufTensorSource"/>), the
/// tokenizer rebuilt from the tokenizer metadata on first use.
/// </summary>
public static class GgufModelReader
{
    /// <summary>Whether <paramref name="path"/> names a GGUF file by its extension.</summary>
    public static bool IsGgufPath(string path) => path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase);

    /// <summary>Opens and validates the GGUF model at <paramref name="path"/>.</summary>
    public static ModelFolder Open(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        var file = GgufFile.Open(full);
        try
        {
            var config = ReadConfig(file);
            ITensorSource weights = new GgufTensorSource(file, config);
            if (config.HasFusedProjections) weights = new FusedTensorSource(weights, config, ownsInner: true, System.IO.Path.GetDirectoryName(full));
            var metadata = file.Metadata;
            string folder = System.IO.Path.GetDirectoryName(full)!;
            var files = new[] { new ModelFileEntry(System.IO.Path.GetFileName(full), file.Length) };
            return new ModelFolder(folder, config, weights, () => GgufTokenizerMetadata.ToTokenizer(metadata, config, full), files);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The Hugging Face config that the metadata of <paramref name="file"/> describes, validated.</summary>
    public static ModelConfig ReadConfig(GgufFile file)
    {
        var m = file.Metadata;
        string arch = m.GetString(GgufKeys.Architecture);
        if (arch is not ("llama" or "qwen2" or "qwen3" or "phi3" or "gemma2" or "gemma3"))
            throw new OptimizerException(ErrorCodes.UnsupportedArchitecture,
                $"GGUF architecture \"{arch}\" is not supported; supported: llama (also Mistral and Llama 3.x), qwen2, qwen3, phi3, gemma2, gemma3.", file.Path);
        bool phi3 = arch == "phi3";
        string K(string key) => GgufKeys.Arch(arch, key);
        int heads = m.GetInt32(K(GgufKeys.HeadCount));
        int hidden = m.GetInt32(K(GgufKeys.EmbeddingLength));
        if (heads <= 0)
            throw new OptimizerException(ErrorCodes.GgufModelInvalid, $"GGUF '{K(GgufKeys.HeadCount)}' is {heads}; a model needs at least one attention head.", file.Path);
        if (hidden <= 0)
            throw new OptimizerException(ErrorCodes.GgufModelInvalid, $"GGUF '{K(GgufKeys.EmbeddingLength)}' is {hidden}; it must be positive.", file.Path);
        int? keyLength = m.FindInt32(K(GgufKeys.KeyLength));
        int? valueLength = m.FindInt32(K(GgufKeys.ValueLength));
        if (keyLength != valueLength)
            throw new OptimizerException(ErrorCodes.GgufModelInvalid, $"GGUF key length {keyLength} differs from value length {valueLength}; the engine needs equal head sizes.", file.Path);
        int headDim = keyLength ?? (heads > 0 ? hidden / heads : 0);
        int? ropeDims = m.FindInt32(K(GgufKeys.RopeDimensionCount));
        double? partialRotary = null;
        if (phi3 && ropeDims is int rp && rp != headDim && rp > 0 && (int)(headDim * ((double)rp / headDim)) == rp)
            partialRotary = (double)rp / headDim;
        else if (ropeDims is int r && r != headDim)
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"GGUF '{K(GgufKeys.RopeDimensionCount)}' is {r} but heads have {headDim} dimensions; partial rotary embeddings are not supported.", file.Path);
        var embedding = file.Find(LlamaGgufNames.Name(TensorRole.TokenEmbedding))
            ?? throw new OptimizerException(ErrorCodes.TensorMissing, $"The GGUF file has no tensor '{LlamaGgufNames.Name(TensorRole.TokenEmbedding)}'.", file.Path);
        int vocab = m.FindInt32(K(GgufKeys.VocabSize))
            ?? (embedding.Dimensions.Length == 2 && embedding.Dimensions[1] <= int.MaxValue ? (int)embedding.Dimensions[1] : 0);
        bool llamaBias = arch == "llama" && file.Find(LlamaGgufNames.Name(TensorRole.QBias)) is not null;
        var config = new ModelConfig
        {
            Architectures = new[] { arch switch { "qwen2" => "Qwen2ForCausalLM", "qwen3" => "Qwen3ForCausalLM", "phi3" => "Phi3ForCausalLM", _ => "LlamaForCausalLM" } },
            ModelType = arch,
            VocabSize = vocab,
            HiddenSize = hidden,
            IntermediateSize = m.GetInt32(K(GgufKeys.FeedForwardLength)),
            NumHiddenLayers = m.GetInt32(K(GgufKeys.BlockCount)),
            NumAttentionHeads = heads,
            NumKeyValueHeads = m.FindInt32(K(GgufKeys.HeadCountKv)) ?? heads,
            HeadDimOverride = keyLength is int k && k != (heads > 0 ? hidden / heads : 0) ? k : null,
            RmsNormEps = Shortest(m.GetFloat(K(GgufKeys.RmsEpsilon))),
            RopeTheta = Shortest(m.FindFloat(K(GgufKeys.RopeFreqBase)) ?? 10000.0),
            MaxPositionEmbeddings = m.FindInt32(K(GgufKeys.ContextLength)) ?? 2048,
            TieWordEmbeddings = file.Find(LlamaGgufNames.Name(TensorRole.OutputHead)) is null,
            AttentionBias = llamaBias ? true : null,
            BosTokenId = m.FindInt32(GgufKeys.BosId) is int bos && bos < vocab ? bos : null,
            TorchDtype = "float32",
            RopeScaling = phi3 ? LongropeScaling(file, K, m.FindInt32(K(GgufKeys.ContextLength)) ?? 2048) : LinearRopeScaling(m, K, file.Path),
            PartialRotaryFactor = partialRotary,
            SlidingWindow = phi3 && m.FindInt32(K(GgufKeys.SlidingWindow)) is int window && window > 0 ? window : null,
            OriginalMaxPositionEmbeddings = phi3 ? m.FindInt32(K(GgufKeys.RopeScalingOriginalContext)) : null,
            RopeFrequencyDivisors = RopeFrequencyDivisors(file, headDim),
        };
        if (arch is "gemma2" or "gemma3") GemmaGguf.ReadConfig(file, arch, config);
        config.Validate(file.Path);
        return config;
    }

    /// <summary>
    /// <c>rope.scaling.type</c> <c>linear</c> with its factor as the config's <c>rope_scaling</c>; null without scaling;
    /// other types (yarn, longrope) refused as <see cref="ModelConfig.Validate"/> refuses them in a config.
    /// </summary>
    private static System.Text.Json.JsonElement? LinearRopeScaling(GgufMetadata m, Func<string, string> key, string path)
    {
        string? type = m.FindString(key(GgufKeys.RopeScalingType));
        if (type is null or "none") return null;
        if (type is not ("linear" or "yarn"))
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"GGUF '{key(GgufKeys.RopeScalingType)}' is \"{type}\"; only linear and yarn RoPE scaling (and llama3's rope_freqs tensor) are supported.", path);
        double factor = m.GetFloat(key(GgufKeys.RopeScalingFactor));
        if (type == "yarn")
        {
            int original = m.GetInt32(key(GgufKeys.RopeScalingOriginalContext));
            string yarn = "{\"rope_type\":\"yarn\",\"factor\":" + Shortest(factor).ToString("R", System.Globalization.CultureInfo.InvariantCulture)
                + ",\"original_max_position_embeddings\":" + original.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}";
            return System.Text.Json.JsonDocument.Parse(yarn).RootElement.Clone();
        }
        string json = "{\"rope_type\":\"linear\",\"factor\":" + Shortest(factor).ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "}";
        return System.Text.Json.JsonDocument.Parse(json).RootElement.Clone();
    }

    /// <summary>
    /// phi3's longrope from llama.cpp's <c>rope_factors_long</c>/<c>rope_factors_short</c> tensors (F32) and
    /// <c>rope.scaling.attn_factor</c> (kept as an explicit <c>attention_factor</c> only when it is not the one the context
    /// ratio gives, so that a config written from it stays the three keys older transformers accept); null when the file
    /// has neither tensor.
    /// </summary>
    private static System.Text.Json.JsonElement? LongropeScaling(GgufFile file, Func<string, string> key, int maxPositions)
    {
        var longFactors = file.Find(LlamaGgufNames.RopeFactorsLong);
        var shortFactors = file.Find(LlamaGgufNames.RopeFactorsShort);
        if (longFactors is null && shortFactors is null) return null;
        string List(GgufTensorInfo? tensor, string name)
        {
            if (tensor is null || tensor.Type != GgmlType.F32 || tensor.Dimensions.Length != 1)
                throw new OptimizerException(ErrorCodes.GgufModelInvalid, $"GGUF longrope needs both '{LlamaGgufNames.RopeFactorsLong}' and '{LlamaGgufNames.RopeFactorsShort}' as F32 vectors; '{name}' is not.", file.Path);
            var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetSpan(tensor)).ToArray();
            return string.Join(",", values.Select(v => ((double)v).ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        }
        string json = "{\"type\":\"longrope\",\"long_factor\":[" + List(longFactors, LlamaGgufNames.RopeFactorsLong) + "],\"short_factor\":[" + List(shortFactors, LlamaGgufNames.RopeFactorsShort) + "]";
        int original = file.Metadata.FindInt32(key(GgufKeys.RopeScalingOriginalContext)) ?? ModelConfig.Phi3DefaultOriginalContext;
        double scale = (double)maxPositions / original;
        double derived = scale <= 1 ? 1 : Math.Sqrt(1 + Math.Log(scale) / Math.Log(original));
        if (file.Metadata.FindFloat(key(GgufKeys.RopeScalingAttnFactor)) is double attention && (float)attention != (float)derived)
            json += ",\"attention_factor\":" + attention.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        return System.Text.Json.JsonDocument.Parse(json + "}").RootElement.Clone();
    }

    /// <summary>llama.cpp's per-pair RoPE divisors (<c>rope_freqs</c>, F32, head_dim/2 values) when the file has them.</summary>
    private static double[]? RopeFrequencyDivisors(GgufFile file, int headDim)
    {
        var tensor = file.Find(LlamaGgufNames.RopeFrequencies);
        if (tensor is null) return null;
        if (tensor.Type != GgmlType.F32 || tensor.Dimensions.Length != 1 || tensor.Dimensions[0] != headDim / 2)
            throw new OptimizerException(ErrorCodes.GgufModelInvalid,
                $"GGUF tensor '{tensor.Name}' is {tensor.TypeName} [{string.Join(", ", tensor.Shape)}]; llama.cpp needs F32 [{headDim / 2}] (one divisor per RoPE pair).", file.Path);
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetSpan(tensor));
        var divisors = new double[values.Length];
        for (int i = 0; i < divisors.Length; i++)
        {
            divisors[i] = values[i];
            if (!(values[i] > 0) || !float.IsFinite(values[i]))
                throw new OptimizerException(ErrorCodes.GgufModelInvalid,
                    $"GGUF tensor '{tensor.Name}' holds {values[i]} for RoPE pair {i}; each divisor must be a positive finite number.", file.Path);
        }
        return divisors;
    }

    /// <summary>
    /// A value stored as f32 (as llama.cpp stores eps and the RoPE base) as the shortest decimal that round-trips the
    /// float, so 1e-5 written from a config reads back as 1e-5 and not as 9.99999974737875E-06.
    /// </summary>
    private static double Shortest(double value)
    {
        float single = (float)value;
        if (single != value || !float.IsFinite(single)) return value;
        return double.Parse(single.ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
    }
}

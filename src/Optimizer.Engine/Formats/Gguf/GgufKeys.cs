namespace Optimizer.Engine.Formats.Gguf;

/// <summary>GGUF metadata key names as llama.cpp reads them (gguf-py <c>constants.py</c> <c>Keys</c>).</summary>
public static class GgufKeys
{
    public const string Architecture = "general.architecture";
    public const string Name = "general.name";
    public const string FileType = "general.file_type";
    public const string QuantizationVersion = "general.quantization_version";
    public const string Alignment = "general.alignment";
    public const string QuantizedBy = "general.quantized_by";

    public const string TokenizerModel = "tokenizer.ggml.model";
    public const string TokenizerPre = "tokenizer.ggml.pre";
    public const string Tokens = "tokenizer.ggml.tokens";
    public const string TokenTypes = "tokenizer.ggml.token_type";
    public const string Scores = "tokenizer.ggml.scores";
    public const string Merges = "tokenizer.ggml.merges";
    public const string BosId = "tokenizer.ggml.bos_token_id";
    public const string EosId = "tokenizer.ggml.eos_token_id";
    public const string UnknownId = "tokenizer.ggml.unknown_token_id";
    public const string PaddingId = "tokenizer.ggml.padding_token_id";
    public const string AddBos = "tokenizer.ggml.add_bos_token";
    public const string AddEos = "tokenizer.ggml.add_eos_token";
    public const string EotId = "tokenizer.ggml.eot_token_id";
    public const string AddSpacePrefix = "tokenizer.ggml.add_space_prefix";
    public const string ChatTemplate = "tokenizer.chat_template";

    /// <summary>The product's own key: the exact pre-tokenizer split regex of a byte-level BPE tokenizer.</summary>
    public const string SplitRegex = "outlier_opt.tokenizer.split_regex";

    /// <summary>An architecture-scoped key, e.g. <c>Arch("llama", "block_count")</c> = <c>llama.block_count</c>.</summary>
    public static string Arch(string architecture, string key) => architecture + "." + key;

    public const string ContextLength = "context_length";
    public const string EmbeddingLength = "embedding_length";
    public const string BlockCount = "block_count";
    public const string FeedForwardLength = "feed_forward_length";
    public const string RopeDimensionCount = "rope.dimension_count";
    public const string RopeFreqBase = "rope.freq_base";
    public const string RopeScalingType = "rope.scaling.type";
    public const string RopeScalingFactor = "rope.scaling.factor";
    public const string RopeScalingAttnFactor = "rope.scaling.attn_factor";
    public const string RopeScalingOriginalContext = "rope.scaling.original_context_length";
    public const string SlidingWindow = "attention.sliding_window";
    public const string HeadCount = "attention.head_count";
    public const string HeadCountKv = "attention.head_count_kv";
    public const string RmsEpsilon = "attention.layer_norm_rms_epsilon";
    public const string KeyLength = "attention.key_length";
    public const string ValueLength = "attention.value_length";
    public const string VocabSize = "vocab_size";
}

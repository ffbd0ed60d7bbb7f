namespace Optimizer.Engine.Quantization;

/// <summary>
/// llama.cpp's <c>llama_ftype</c> values (GGUF <c>general.file_type</c>) for the recipes this product writes.
/// </summary>
public enum LlamaFileType : uint
{
    /// <summary><c>LLAMA_FTYPE_ALL_F32</c>.</summary>
    AllF32 = 0,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_F16</c>.</summary>
    MostlyF16 = 1,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q4_0</c>.</summary>
    MostlyQ4_0 = 2,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q8_0</c>.</summary>
    MostlyQ8_0 = 7,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q4_K_S</c> (our <c>Q4_K</c> recipe).</summary>
    MostlyQ4_K_S = 14,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q4_K_M</c>.</summary>
    MostlyQ4_K_M = 15,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q6_K</c>.</summary>
    MostlyQ6_K = 18,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_BF16</c>.</summary>
    MostlyBF16 = 32,
}

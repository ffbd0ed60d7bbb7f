namespace Optimizer.Engine.Quantization;

/// <summary>
/// llama.cpp's <c>llama_ftype</c> values (llama.h; GGUF <c>general.file_type</c>) for the recipes this product writes.
/// </summary>
public enum LlamaFileType : uint
{
    /// <summary><c>LLAMA_FTYPE_ALL_F32</c>.</summary>
    AllF32 = 0,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_F16</c>.</summary>
    MostlyF16 = 1,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q4_0</c>.</summary>
    MostlyQ4_0 = 2,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q4_1</c>.</summary>
    MostlyQ4_1 = 3,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q8_0</c>.</summary>
    MostlyQ8_0 = 7,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q5_0</c>.</summary>
    MostlyQ5_0 = 8,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q5_1</c>.</summary>
    MostlyQ5_1 = 9,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q2_K</c>.</summary>
    MostlyQ2_K = 10,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q3_K_S</c>.</summary>
    MostlyQ3_K_S = 11,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q3_K_M</c> (also the <c>Q3_K</c> alias).</summary>
    MostlyQ3_K_M = 12,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q3_K_L</c>.</summary>
    MostlyQ3_K_L = 13,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q4_K_S</c>.</summary>
    MostlyQ4_K_S = 14,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q4_K_M</c> (also the <c>Q4_K</c> alias).</summary>
    MostlyQ4_K_M = 15,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q5_K_S</c>.</summary>
    MostlyQ5_K_S = 16,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q5_K_M</c> (also the <c>Q5_K</c> alias).</summary>
    MostlyQ5_K_M = 17,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_Q6_K</c>.</summary>
    MostlyQ6_K = 18,

    /// <summary><c>LLAMA_FTYPE_MOSTLY_BF16</c>.</summary>
    MostlyBF16 = 32,
}

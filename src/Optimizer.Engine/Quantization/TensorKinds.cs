using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Quantization;

/// <summary>llama.cpp's names for the kinds of quantizable Llama weights, as used in recipe overrides.</summary>
public static class TensorKinds
{
    /// <summary>Every kind, in llama.cpp's order: token_embd, output, attn_q … ffn_down.</summary>
    public static IReadOnlyList<string> All { get; } =
        new[] { "token_embd", "output", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down" };

    /// <summary>The kind of a weight role, or null for norms and biases (kept in F32).</summary>
    public static string? Of(TensorRole role) => role switch
    {
        TensorRole.TokenEmbedding => "token_embd",
        TensorRole.OutputHead => "output",
        TensorRole.Q => "attn_q",
        TensorRole.K => "attn_k",
        TensorRole.V => "attn_v",
        TensorRole.O => "attn_output",
        TensorRole.Gate => "ffn_gate",
        TensorRole.Up => "ffn_up",
        TensorRole.Down => "ffn_down",
        _ => null,
    };
}

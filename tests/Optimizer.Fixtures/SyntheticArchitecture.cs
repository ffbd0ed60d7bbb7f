namespace Optimizer.Fixtures;

/// <summary>The Hugging Face <c>model_type</c> a synthetic model is written as.</summary>
public enum SyntheticArchitecture
{
    /// <summary><c>llama</c> (<c>LlamaForCausalLM</c>): no projection biases.</summary>
    Llama,

    /// <summary><c>qwen2</c> (<c>Qwen2ForCausalLM</c>): q/k/v projections carry a bias.</summary>
    Qwen2,

    /// <summary><c>qwen3</c> (<c>Qwen3ForCausalLM</c>): no biases, per-head q_norm/k_norm, explicit <c>head_dim</c>.</summary>
    Qwen3,

    /// <summary>
    /// <c>phi3</c> (<c>Phi3ForCausalLM</c>): no biases, q/k/v written fused as <c>qkv_proj</c> and gate/up as
    /// <c>gate_up_proj</c>; optional partial rotary, longrope and sliding window (<see cref="SyntheticModelOptions"/>).
    /// </summary>
    Phi3,
}

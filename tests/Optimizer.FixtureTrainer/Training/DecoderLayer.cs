using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Optimizer.FixtureTrainer.Training;

/// <summary>Receives an intermediate activation: layer index, site name and the tensor (valid during the call only).</summary>
internal delegate void ActivationObserver(int layer, string site, Tensor value);

/// <summary>
/// One Llama decoder layer with Hugging Face names and math: pre-RMSNorm attention with RoPE and grouped key/value
/// heads, then pre-RMSNorm SwiGLU MLP (<c>down(silu(gate(x)) * up(x))</c>), each added to the residual stream.
/// Observer sites: <c>attn_in</c> (normed attention input), <c>y6</c> (down_proj input), <c>block_out</c> (residual).
/// </summary>
internal sealed class DecoderLayer : nn.Module<Tensor, Tensor>
{
    private readonly int _index, _heads, _kvHeads, _headDim;
    private readonly RotaryEmbedding _rope;
    public RmsNorm input_layernorm, post_attention_layernorm;
    public Linear q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;

    public DecoderLayer(int index, Engine.Formats.ModelConfig config, RotaryEmbedding rope) : base($"layer{index}")
    {
        _index = index;
        _heads = config.NumAttentionHeads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.HeadDim;
        _rope = rope;
        int hidden = config.HiddenSize;
        input_layernorm = new RmsNorm("input_layernorm", hidden, config.RmsNormEps);
        post_attention_layernorm = new RmsNorm("post_attention_layernorm", hidden, config.RmsNormEps);
        q_proj = nn.Linear(hidden, _heads * _headDim, hasBias: false);
        k_proj = nn.Linear(hidden, _kvHeads * _headDim, hasBias: false);
        v_proj = nn.Linear(hidden, _kvHeads * _headDim, hasBias: false);
        o_proj = nn.Linear(_heads * _headDim, hidden, hasBias: false);
        gate_proj = nn.Linear(hidden, config.IntermediateSize, hasBias: false);
        up_proj = nn.Linear(hidden, config.IntermediateSize, hasBias: false);
        down_proj = nn.Linear(config.IntermediateSize, hidden, hasBias: false);
        RegisterComponents();
    }

    /// <summary>Optional observer of intermediate activations (used by the stats command).</summary>
    public ActivationObserver? Observer { get; set; }

    /// <summary>The projection matrices (for weight decay grouping and checkpointing) by HF suffix.</summary>
    public IEnumerable<(string Name, Linear Module)> Linears()
    {
        yield return ("self_attn.q_proj", q_proj);
        yield return ("self_attn.k_proj", k_proj);
        yield return ("self_attn.v_proj", v_proj);
        yield return ("self_attn.o_proj", o_proj);
        yield return ("mlp.gate_proj", gate_proj);
        yield return ("mlp.up_proj", up_proj);
        yield return ("mlp.down_proj", down_proj);
    }

    public override Tensor forward(Tensor h)
    {
        using var scope = NewDisposeScope();
        long b = h.shape[0], t = h.shape[1];
        var x = input_layernorm.forward(h);
        Observer?.Invoke(_index, "attn_in", x);
        var q = q_proj.forward(x).view(b, t, _heads, _headDim).transpose(1, 2);
        var k = k_proj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);
        var v = v_proj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);
        q = _rope.Apply(q);
        k = _rope.Apply(k);
        if (_kvHeads != _heads)
        {
            int groups = _heads / _kvHeads;
            k = k.repeat_interleave(groups, 1);
            v = v.repeat_interleave(groups, 1);
        }
        var attn = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        attn = attn.transpose(1, 2).reshape(b, t, _heads * _headDim);
        h = h + o_proj.forward(attn);
        var m = post_attention_layernorm.forward(h);
        var y6 = nn.functional.silu(gate_proj.forward(m)) * up_proj.forward(m);
        Observer?.Invoke(_index, "y6", y6);
        h = h + down_proj.forward(y6);
        Observer?.Invoke(_index, "block_out", h);
        return h.MoveToOuterDisposeScope();
    }
}

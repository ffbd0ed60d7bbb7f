using LLama;
using LLama.Common;
using LLama.Native;

namespace Optimizer.LlamaCpp;

/// <summary>A GGUF model loaded in llama.cpp with one context: per-position logits of token sequences.</summary>
public sealed class LlamaCppSession : IDisposable
{
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;

    /// <summary>Loads <paramref name="gguf"/> with a context (and batch) of <paramref name="contextSize"/> tokens (see <see cref="LlamaRuntime.LoadModel"/>).</summary>
    public LlamaCppSession(string gguf, uint contextSize = 256)
    {
        _weights = LlamaRuntime.LoadModel(gguf, contextSize, out ModelParams parameters);
        _context = _weights.CreateContext(parameters);
        ContextSize = contextSize;
    }

    /// <summary>The most tokens one call can decode.</summary>
    public uint ContextSize { get; }

    /// <summary>Vocabulary size llama.cpp sees.</summary>
    public int VocabSize => _weights.Vocab.Count;

    /// <summary>Logits [position][token] of <paramref name="tokens"/> (starting from an empty KV cache).</summary>
    public float[][] Logits(IReadOnlyList<int> tokens)
    {
        if (tokens.Count > ContextSize) throw new ArgumentException($"{tokens.Count} tokens exceed the context of {ContextSize}.", nameof(tokens));
        _context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < tokens.Count; i++) batch.Add(tokens[i], i, LLamaSeqId.Zero, true);
        var result = _context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp decode failed: {result}\n{LlamaRuntime.RecentLog()}");
        int vocab = VocabSize;
        var logits = new float[tokens.Count][];
        for (int i = 0; i < tokens.Count; i++) logits[i] = _context.NativeHandle.GetLogitsIth(i)[..vocab].ToArray();
        return logits;
    }

    /// <summary>
    /// Continues the sequence in the KV cache: decodes <paramref name="tokens"/> at positions
    /// <paramref name="position"/>, … and returns the logits after the last one.
    /// </summary>
    public float[] Continue(IReadOnlyList<int> tokens, int position)
    {
        if (position == 0) _context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < tokens.Count; i++) batch.Add(tokens[i], position + i, LLamaSeqId.Zero, i == tokens.Count - 1);
        var result = _context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp decode failed: {result}\n{LlamaRuntime.RecentLog()}");
        return _context.NativeHandle.GetLogitsIth(tokens.Count - 1)[..VocabSize].ToArray();
    }

    /// <summary>
    /// The conversation <paramref name="messages"/> (role, content) formatted by llama.cpp with the chat template the GGUF
    /// carries (<c>tokenizer.chat_template</c>), ending with the start of an assistant turn; throws when llama.cpp
    /// finds no usable template.
    /// </summary>
    public string ApplyChatTemplate(IEnumerable<(string Role, string Content)> messages)
    {
        var template = new LLamaTemplate(_weights, strict: true) { AddAssistant = true };
        foreach (var (role, content) in messages) template.Add(role, content);
        return System.Text.Encoding.UTF8.GetString(template.Apply());
    }

    /// <summary>llama.cpp's token ids of <paramref name="text"/>, special tokens parsed.</summary>
    public int[] Tokenize(string text, bool addBos) => LlamaRuntime.Tokenize(_weights, text, addBos);

    /// <summary>Sum of −log p(tokens[t+1] | tokens[0..t]) over the sequence, in float64, and the count of scored tokens.</summary>
    public (double NllSum, int Scored) Nll(IReadOnlyList<int> tokens)
    {
        var logits = Logits(tokens);
        double sum = 0;
        for (int t = 0; t + 1 < tokens.Count; t++) sum += NegativeLogSoftmax(logits[t], tokens[t + 1]);
        return (sum, tokens.Count - 1);
    }

    /// <summary>−log softmax(<paramref name="logits"/>)[<paramref name="target"/>], computed in float64.</summary>
    public static double NegativeLogSoftmax(float[] logits, int target)
    {
        double max = logits.Max();
        double z = 0;
        foreach (float l in logits) z += Math.Exp(l - max);
        return -(logits[target] - max - Math.Log(z));
    }

    /// <summary>Frees the context and the model.</summary>
    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}

using System.Runtime.InteropServices;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Pipeline;
using Optimizer.Engine.Quantization;
using Optimizer.Fixtures;
using Optimizer.LlamaCpp;
using Xunit.Abstractions;

namespace Optimizer.LlamaCpp.Tests;

/// <summary>
/// A model of each family as users bring it — its architecture (Llama 3.1 with llama3 RoPE scaling, Qwen3 with q/k
/// norms, Gemma 3 text), its real tokenizer and chat template (npm, scripts/fetch-tokenizers.sh), random weights — exported at
/// Q4_K_M by the whole <c>optimize</c> pipeline: llama.cpp loads it, formats a conversation with the chat template the GGUF carries, tokenizes the prompt
/// exactly as our tokenizer does (special tokens included), and generates from it.
/// </summary>
public sealed class FamilyChatTests(ITestOutputHelper output)
{
    public static TheoryData<string> Families() => new() { "llama3_1", "qwen3", "gemma3" };

    [Theory]
    [MemberData(nameof(Families))]
    public void Q4_K_M_export_chats_with_its_own_template(string name)
    {
        var family = RealTokenizers.Get(name);
        string root = Path.Combine(Path.GetTempPath(), "oopt-chat-" + Guid.NewGuid().ToString("N"));
        try
        {
            string folder = WriteModel(family, root);
            using var model = ModelFolder.Open(folder);
            Assert.NotNull(model.Tokenizer.ChatTemplate);
            string calibration = Path.Combine(root, "calibration.txt"), eval = Path.Combine(root, "eval.txt");
            File.WriteAllText(calibration, LlamaCppLogitTests.Text + " " + Prose);
            File.WriteAllText(eval, Prose + " " + LlamaCppLogitTests.Text);
            var result = OptimizePipeline.Run(new OptimizeOptions
            {
                Model = folder, Output = Path.Combine(root, "out"), Quant = "Q4_K_M", Calibration = new[] { calibration }, EvalText = eval,
                CalibrationTokens = 64, SequenceLength = 32, EvalTokens = 62, BatchSize = 2, ToolVersion = "0.0.0-test",
            });
            string gguf = result.Outputs[0].Path;
            using (var file = GgufFile.Open(gguf))
            {
                Assert.Equal(model.Tokenizer.ChatTemplate, file.Metadata.GetString("tokenizer.chat_template"));
                Assert.Contains(file.Tensors, t => t.Type is GgmlType.Q4_K or GgmlType.Q5_0 or GgmlType.Q6_K);
            }

            using var session = new LlamaCppSession(gguf, 512);
            string prompt = session.ApplyChatTemplate(new[] { ("system", "You answer briefly."), ("user", "Name a colour of the sea.") });
            output.WriteLine(prompt);
            Assert.Contains("Name a colour of the sea.", prompt);
            Assert.Contains(family.TurnEnd, prompt);

            // llama.cpp's ids of the formatted prompt (special tokens parsed) are ours.
            int[] theirs = session.Tokenize(prompt, addBos: false);
            int[] ours = model.Tokenizer.Encode(prompt, addBos: false);
            Assert.Equal(ours, theirs);
            Assert.Contains(model.Tokenizer.Encode(family.TurnEnd, addBos: false).Single(), ours);

            var ids = theirs.ToList();
            float[] logits = session.Continue(ids, 0);
            var generated = new List<int>();
            for (int i = 0; i < 16; i++)
            {
                Assert.All(logits, l => Assert.True(float.IsFinite(l)));
                int next = LlamaCppLogitTests.ArgMax(logits);
                generated.Add(next);
                logits = session.Continue(new[] { next }, ids.Count);
                ids.Add(next);
            }
            Assert.All(generated, t => Assert.InRange(t, 0, model.Config.VocabSize - 1));
            output.WriteLine($"{name}: {theirs.Length} prompt tokens, generated {string.Join(" ", generated)} = \"{model.Tokenizer.Decode(generated.ToArray())}\"");
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private const string Prose = "The carriage was late, and the whole party stood in the hall a quarter of an hour longer than anybody wished, talking of the roads and the weather.";

    /// <summary>A two-layer model of the family (hidden 64, 4 heads / 2 KV heads, head_dim 16) with seeded random BF16 weights and the real tokenizer.</summary>
    private static string WriteModel(RealTokenizerFamily family, string root)
    {
        var (folder, plain) = RealTokenizers.CreateModelFolder(family, root);
        bool qwen3 = family.Name == "qwen3", gemma3 = family.Name == "gemma3";
        var config = new ModelConfig
        {
            Architectures = new[] { qwen3 ? "Qwen3ForCausalLM" : gemma3 ? "Gemma3ForCausalLM" : "LlamaForCausalLM" },
            ModelType = qwen3 ? "qwen3" : gemma3 ? ModelConfig.Gemma3Text : "llama",
            VocabSize = plain.VocabSize, HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2,
            NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDimOverride = 16, RmsNormEps = 1e-5,
            RopeTheta = qwen3 ? 1_000_000 : 500_000, MaxPositionEmbeddings = 4096, TieWordEmbeddings = true, TorchDtype = "bfloat16",
            RopeScaling = qwen3 || gemma3 ? null : System.Text.Json.JsonDocument.Parse(
                """{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}""").RootElement.Clone(),
        };
        if (gemma3)
        {
            // Gemma 3 1B's proportions of these keys: GELU-tanh, q·k scaled by head_dim^-0.5, sliding layers with the
            // local base 10⁴ (five of every six layers; both layers here), global base 10⁶.
            config.HiddenAct = "gelu_pytorch_tanh";
            config.HiddenActivation = "gelu_pytorch_tanh";
            config.QueryPreAttnScalar = 16;
            config.SlidingWindow = 512;
            config.SlidingWindowPattern = 6;
            config.RopeLocalBaseFreq = 10000;
            config.RopeTheta = 1_000_000;
        }
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJson());
        config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        var random = new DeterministicRandom(20261208);
        var entries = new List<SafetensorsEntry>();
        foreach (var (role, _, tensorName, shape) in LlamaTensorNames.Expected(config))
        {
            var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
            bool norm = role is TensorRole.AttnNorm or TensorRole.FfnNorm or TensorRole.FinalNorm or TensorRole.QNorm or TensorRole.KNorm;
            double std = role == TensorRole.TokenEmbedding ? 1.0 : 1.0 / Math.Sqrt(shape[^1]);
            for (int i = 0; i < values.Length; i++) values[i] = (float)(norm ? 1 + 0.05 * random.NextNormal() : std * random.NextNormal());
            var bf16 = new ushort[values.Length];
            for (int i = 0; i < values.Length; i++) bf16[i] = (ushort)(BitConverter.SingleToUInt32Bits(values[i]) >> 16);
            byte[] bytes = MemoryMarshal.AsBytes(bf16.AsSpan()).ToArray();
            entries.Add(new SafetensorsEntry(tensorName, DType.BF16, shape, s => s.Write(bytes)));
        }
        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), entries);
        return folder;
    }
}

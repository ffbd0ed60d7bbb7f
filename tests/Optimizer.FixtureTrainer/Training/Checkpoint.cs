using System.Buffers.Binary;
using System.Text.Json;
using Optimizer.Engine.Formats;
using static TorchSharp.torch;

namespace Optimizer.FixtureTrainer.Training;

/// <summary>
/// Saves a <see cref="ByteLlama"/> as a Hugging Face model folder (<c>config.json</c>, <c>model.safetensors</c> in F32,
/// byte-level <c>tokenizer.json</c> + <c>tokenizer_config.json</c>) and loads it back. Every file is written atomically,
/// so an interrupted save leaves the previous checkpoint intact.
/// </summary>
internal static class Checkpoint
{
    public const string WeightsFile = "model.safetensors";
    public const string ConfigFile = "config.json";

    public static void Save(ByteLlama model, string folder, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Directory.CreateDirectory(folder);
        var entries = new List<SafetensorsEntry>();
        foreach (var (name, value) in model.NamedWeights())
        {
            using var cpu = value.detach().cpu().contiguous();
            entries.Add(SafetensorsEntry.FromFloats(name, cpu.data<float>().ToArray(), cpu.shape));
        }
        SafetensorsWriter.Write(Path.Combine(folder, WeightsFile), entries, metadata);
        AtomicFile.WriteText(Path.Combine(folder, ConfigFile), model.Config.ToJson());
        ByteLevelVocabulary.WriteTokenizerFiles(folder);
    }

    /// <summary>Loads a folder written by <see cref="Save"/> (F32 weights with the expected names and shapes).</summary>
    public static ByteLlama Load(string folder)
    {
        var config = ModelConfig.Load(Path.Combine(folder, ConfigFile));
        var tensors = ReadSafetensors(Path.Combine(folder, WeightsFile));
        var model = new ByteLlama(config);
        using var noGrad = no_grad();
        foreach (var (name, target) in model.NamedWeights())
        {
            if (!tensors.TryGetValue(name, out var found)) throw new InvalidDataException($"{folder}/{WeightsFile}: tensor \"{name}\" is missing.");
            if (!found.Shape.SequenceEqual(target.shape))
                throw new InvalidDataException($"{folder}/{WeightsFile}: \"{name}\" has shape [{string.Join(", ", found.Shape)}], expected [{string.Join(", ", target.shape)}].");
            using var source = tensor(found.Data, found.Shape);
            target.copy_(source);
        }
        model.eval();
        return model;
    }

    private static Dictionary<string, (long[] Shape, float[] Data)> ReadSafetensors(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist.");
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataException($"{path}: too short for a safetensors file.");
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        if (headerLength <= 0 || 8 + headerLength > bytes.Length) throw new InvalidDataException($"{path}: header length {headerLength} is invalid.");
        int dataStart = 8 + (int)headerLength;
        var result = new Dictionary<string, (long[], float[])>(StringComparer.Ordinal);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        foreach (var property in header.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__") continue;
            string dtype = property.Value.GetProperty("dtype").GetString() ?? "";
            if (dtype != "F32") throw new InvalidDataException($"{path}: \"{property.Name}\" is {dtype}; the trainer reads F32 only.");
            long[] shape = property.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long[] offsets = property.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long count = shape.Aggregate(1L, (a, d) => a * d);
            if (offsets.Length != 2 || offsets[1] - offsets[0] != count * 4 || dataStart + offsets[1] > bytes.Length || offsets[0] < 0)
                throw new InvalidDataException($"{path}: \"{property.Name}\" has invalid data offsets.");
            var data = new float[count];
            Buffer.BlockCopy(bytes, dataStart + (int)offsets[0], data, 0, (int)(count * 4));
            result[property.Name] = (shape, data);
        }
        return result;
    }
}

using Optimizer.Engine.Formats;

namespace Optimizer.Fixtures;

/// <summary>
/// A generated synthetic model in memory: its configuration, stored tensors and ground truth. <see cref="WriteTo"/>
/// writes it as a Hugging Face folder.
/// </summary>
public sealed class SyntheticModel
{
    /// <summary>The weights file name inside the folder.</summary>
    public const string WeightsFileName = "model.safetensors";

    internal SyntheticModel(SyntheticModelOptions options, ModelConfig config, IReadOnlyList<SyntheticTensor> tensors, SyntheticGroundTruth truth)
    {
        Options = options;
        Config = config;
        Tensors = tensors;
        GroundTruth = truth;
    }

    /// <summary>The options it was generated from.</summary>
    public SyntheticModelOptions Options { get; }

    /// <summary>The configuration written as config.json.</summary>
    public ModelConfig Config { get; }

    /// <summary>Every stored tensor, in a fixed order (model-level first, then layer by layer).</summary>
    public IReadOnlyList<SyntheticTensor> Tensors { get; }

    /// <summary>What was planted and the values a forward pass must show.</summary>
    public SyntheticGroundTruth GroundTruth { get; }

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    public SyntheticTensor Tensor(string name) =>
        Tensors.FirstOrDefault(t => t.Name == name) ?? throw new KeyNotFoundException($"The synthetic model has no tensor '{name}'.");

    /// <summary>
    /// Writes config.json, model.safetensors, tokenizer.json, tokenizer_config.json and ground-truth.json into
    /// <paramref name="folder"/> (created if missing; files are replaced atomically). Same model, same bytes.
    /// </summary>
    public void WriteTo(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Directory.CreateDirectory(folder);
        AtomicFile.WriteText(Path.Combine(folder, "config.json"), Config.ToJson());
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        SafetensorsWriter.Write(Path.Combine(folder, WeightsFileName), Tensors.Select(t => t.ToEntry()), metadata);
        ByteLevelVocabulary.WriteTokenizerFiles(folder);
        AtomicFile.WriteText(Path.Combine(folder, SyntheticGroundTruth.FileName), GroundTruth.ToJson());
    }
}

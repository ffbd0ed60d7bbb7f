using Optimizer.Fixtures;

namespace Optimizer.Bench;

/// <summary>
/// Synthetic Llama models of increasing size for the bench (byte vocabulary, head size 128, FFN a multiple of 256 so
/// every row quantizes in 32-blocks in llama.cpp too), written once into the work folder and reused.
/// </summary>
public static class SyntheticSizes
{
    /// <summary>The known sizes: name, hidden, layers, FFN.</summary>
    public static readonly IReadOnlyList<(string Name, int Hidden, int Layers, int Intermediate)> All = new[]
    {
        ("50M", 1024, 4, 2816),
        ("200M", 1536, 7, 4096),
        ("1B", 2048, 20, 5632),
    };

    /// <summary>The options of size <paramref name="name"/> (seed 1, F32, llama, a planted massive activation).</summary>
    public static SyntheticModelOptions Options(string name)
    {
        var (_, hidden, layers, intermediate) = All.FirstOrDefault(s => s.Name == name);
        if (hidden == 0) throw new ArgumentException($"Unknown model size '{name}'; known: {string.Join(", ", All.Select(s => s.Name))}.", nameof(name));
        return new SyntheticModelBuilder()
            .WithSeed(1)
            .WithShape(hidden, layers, heads: hidden / 128, intermediateSize: intermediate)
            .WithMassiveActivation(layer: 1, neuron: 7, channel: 19)
            .Options;
    }

    /// <summary>The folder of size <paramref name="name"/> under <paramref name="work"/>, generated when missing.</summary>
    public static string Folder(string work, string name)
    {
        string folder = Path.Combine(work, "models", "synthetic-" + name);
        if (File.Exists(Path.Combine(folder, "config.json"))) return folder;
        string staging = folder + ".partial";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Console.Error.WriteLine($"bench: generating the {name} synthetic model in {folder}");
        new SyntheticModelBuilder(Options(name)).Build(staging);
        Directory.Move(staging, folder);
        return folder;
    }
}

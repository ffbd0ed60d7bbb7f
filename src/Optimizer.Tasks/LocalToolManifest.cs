using System.Runtime.Serialization;
using System.Runtime.Serialization.Json;
using System.Text;

namespace Optimizer.Tasks;

/// <summary>
/// A local tool manifest (<c>.config/dotnet-tools.json</c> or <c>dotnet-tools.json</c>, written by
/// <c>dotnet tool install</c> without <c>--global</c>): whether it declares a command, and whether the search for
/// manifests stops at it (<c>"isRoot": true</c>).
/// </summary>
public sealed class LocalToolManifest
{
    private LocalToolManifest(string path, bool isRoot, IReadOnlyDictionary<string, string> commandVersions)
    {
        Path = path;
        IsRoot = isRoot;
        CommandVersions = commandVersions;
    }

    /// <summary>The manifest file.</summary>
    public string Path { get; }

    /// <summary>Whether manifests in parent folders are ignored.</summary>
    public bool IsRoot { get; }

    /// <summary>Each declared command with the version of the package that provides it.</summary>
    public IReadOnlyDictionary<string, string> CommandVersions { get; }

    /// <summary>Reads a manifest; throws <see cref="InvalidDataException"/> when it is not the documented JSON shape.</summary>
    public static LocalToolManifest Read(string path)
    {
        ManifestJson? json;
        try
        {
            var serializer = new DataContractJsonSerializer(typeof(ManifestJson),
                new DataContractJsonSerializerSettings { UseSimpleDictionaryFormat = true });
            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(File.ReadAllText(path)));
            json = (ManifestJson?)serializer.ReadObject(stream);
        }
        catch (SerializationException ex)
        {
            throw new InvalidDataException($"'{path}' is not a valid dotnet tool manifest: {ex.Message}", ex);
        }
        var commands = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var tool in json?.Tools ?? new Dictionary<string, ToolJson>())
        {
            foreach (string command in tool.Value?.Commands ?? new List<string>())
            {
                commands[command] = tool.Value?.Version ?? "";
            }
        }
        return new LocalToolManifest(path, json?.IsRoot ?? false, commands);
    }

    [DataContract]
    private sealed class ManifestJson
    {
        [DataMember(Name = "isRoot")] public bool? IsRoot { get; set; }
        [DataMember(Name = "tools")] public Dictionary<string, ToolJson>? Tools { get; set; }
    }

    [DataContract]
    private sealed class ToolJson
    {
        [DataMember(Name = "version")] public string? Version { get; set; }
        [DataMember(Name = "commands")] public List<string>? Commands { get; set; }
    }
}

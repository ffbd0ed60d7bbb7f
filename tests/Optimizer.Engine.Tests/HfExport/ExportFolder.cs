namespace Optimizer.Engine.Tests.HfExport;

/// <summary>A temp folder holding a source model (<c>model/</c>) and room for exports; deleted on dispose.</summary>
internal sealed class ExportFolder : IDisposable
{
    public ExportFolder()
    {
        Root = Directory.CreateTempSubdirectory("oopt-hfexport-").FullName;
        Model = Path.Combine(Root, "model");
        Outputs = Path.Combine(Root, "out");
        Directory.CreateDirectory(Outputs);
    }

    public string Root { get; }

    public string Model { get; }

    /// <summary>An existing folder that export targets go into.</summary>
    public string Outputs { get; }

    public string Output(string name) => Path.Combine(Outputs, name);

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

using Optimizer.Engine.Formats;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Calibration;

/// <summary>A temporary folder with a small clean synthetic model (byte-level tokenizer, BOS 256) and room for text files.</summary>
internal sealed class CalibrationFolder : IDisposable
{
    public CalibrationFolder()
    {
        Root = Path.Combine(Path.GetTempPath(), "oopt-calibration-" + Guid.NewGuid().ToString("N"));
        ModelPath = Path.Combine(Root, "model");
        new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Clean(1, 64)).Build(ModelPath);
        Model = ModelFolder.Open(ModelPath);
    }

    public string Root { get; }

    public string ModelPath { get; }

    public ModelFolder Model { get; }

    public string Write(string relative, string text) => Write(relative, System.Text.Encoding.UTF8.GetBytes(text));

    public string Write(string relative, byte[] bytes)
    {
        string path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public void Dispose()
    {
        Model.Dispose();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

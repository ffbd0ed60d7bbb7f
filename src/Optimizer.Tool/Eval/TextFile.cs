using Optimizer.Engine;
using Optimizer.Engine.Formats;

namespace Optimizer.Tool.Eval;

/// <summary>
/// Reads a text file named on the command line: it must exist (<see cref="ErrorCodes.CliFileNotFound"/>) and be a
/// regular file (<see cref="ErrorCodes.InputNotRegularFile"/>); the content is then read strictly by <see cref="Utf8TextFile"/> (readable, valid UTF-8, not empty).
/// </summary>
public static class TextFile
{
    /// <summary>Reads <paramref name="path"/> as UTF-8 text.</summary>
    public static string Read(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new OptimizerException(ErrorCodes.CliFileNotFound, "The text file does not exist.", path);
        return Utf8TextFile.Read(path, path, "text file").Text;
    }
}

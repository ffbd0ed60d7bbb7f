namespace Optimizer.Engine.Formats;

/// <summary>
/// Writes a file through a temporary file in the same folder that is renamed over the target only after the whole
/// content was written and flushed. On any failure the temporary file is deleted and the target is left as it was.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<FileStream> write)
    {
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? ".";
        string temp = Path.Combine(folder, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (UnauthorizedAccessException ex)
        {
            TryDelete(temp);
            throw new OptimizerException(ErrorCodes.OutputNotWritable, $"Cannot write here: {ex.Message}", path, inner: ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            TryDelete(temp);
            throw new OptimizerException(ErrorCodes.OutputNotWritable, $"The output folder does not exist: {ex.Message}", path, inner: ex);
        }
        catch (IOException ex)
        {
            TryDelete(temp);
            throw new OptimizerException(ErrorCodes.WriteFailed, $"Writing failed: {ex.Message}", path, inner: ex);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes text (UTF-8, no byte-order mark) atomically.</summary>
    public static void WriteText(string path, string text) =>
        Write(path, s => s.Write(new System.Text.UTF8Encoding(false).GetBytes(text)));

    private static void TryDelete(string temp)
    {
        try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

namespace Optimizer.Tasks;

/// <summary>
/// The <c>dotnet</c> muxer to start the tool with: <c>DOTNET_HOST_PATH</c> (the .NET SDK sets it for every task,
/// including tasks in a task host), else the first <c>dotnet</c> on <c>PATH</c>, else plain <c>dotnet</c>.
/// </summary>
public static class DotnetHost
{
    /// <summary>The muxer path.</summary>
    public static string Path()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host!;
        string name = Environment.OSVersion.Platform == PlatformID.Win32NT ? "dotnet.exe" : "dotnet";
        foreach (string folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator))
        {
            if (folder.Length == 0) continue;
            string candidate = System.IO.Path.Combine(folder, name);
            if (File.Exists(candidate)) return candidate;
        }
        return name;
    }
}

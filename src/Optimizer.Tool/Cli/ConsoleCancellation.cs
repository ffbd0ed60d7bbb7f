using System.Runtime.InteropServices;

namespace Optimizer.Tool.Cli;

/// <summary>
/// Turns Ctrl+C (<see cref="Console.CancelKeyPress"/>) and SIGTERM (<see cref="PosixSignalRegistration"/>) into a
/// <see cref="CancellationToken"/>, so that the running command stops cleanly and reports "cancelled". A second
/// Ctrl+C while the first is still being honoured ends the process at once, as a terminal user expects.
/// </summary>
public sealed class ConsoleCancellation : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration? _sigterm;
    private int _requests;

    public ConsoleCancellation()
    {
        Console.CancelKeyPress += OnCancelKeyPress;
        try
        {
            _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSigterm);
        }
        catch (PlatformNotSupportedException)
        {
            _sigterm = null;
        }
    }

    /// <summary>Cancelled when the user pressed Ctrl+C or the process received SIGTERM.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>Whether cancellation was requested.</summary>
    public bool IsCancellationRequested => _source.IsCancellationRequested;

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _sigterm?.Dispose();
        _source.Dispose();
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        // The first request is handled by the command; a second one falls through to the default (terminate).
        e.Cancel = Interlocked.Increment(ref _requests) == 1;
        RequestCancel();
    }

    private void OnSigterm(PosixSignalContext context)
    {
        Interlocked.Increment(ref _requests);
        context.Cancel = true;
        RequestCancel();
    }

    private void RequestCancel()
    {
        // Cancellation callbacks may do work; keep the signal handler itself short.
        ThreadPool.QueueUserWorkItem(static source =>
        {
            try
            {
                source.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The command already finished and the process is shutting down.
            }
        }, _source, preferLocal: false);
    }
}

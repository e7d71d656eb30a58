import { Component, type ErrorInfo, type ReactNode } from 'react';

/**
 * Keeps a failing panel from blanking the whole page: shows what went wrong in its place, with a
 * button to render it again.
 */
export class ErrorBoundary extends Component<{ name: string; children: ReactNode }, { error: Error | null }> {
  state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    // Kept for whoever opens the developer tools; the panel itself says what failed.
    console.warn(`${this.props.name} failed`, error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div role="alert" className="error panel-error">
        <p>
          The {this.props.name} panel failed: {this.state.error.message}
        </p>
        <button onClick={() => this.setState({ error: null })}>Show {this.props.name} again</button>
      </div>
    );
  }
}

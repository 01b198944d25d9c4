import { go, type Screen, useStore } from '../store/store';
import './top-bar.css';

const tabs: { screen: Screen; label: string }[] = [
  { screen: 'start', label: 'Open' },
  { screen: 'project', label: 'Project' },
  { screen: 'build', label: 'Build' },
  { screen: 'history', label: 'History' },
  { screen: 'settings', label: 'Settings' },
];

export function TopBar() {
  const screen = useStore((state) => state.screen);
  const project = useStore((state) => state.project);
  const build = useStore((state) => state.build);
  const info = useStore((state) => state.info);
  // After a reload the project is reopened from its path, so its tab stays reachable.
  const hasProject = project !== null || sessionStorage.getItem('slipway.projectPath') !== null;
  const enabled = (tab: Screen) => (tab === 'project' ? hasProject : tab === 'build' ? build !== null : true);
  return (
    <header className="top-bar">
      <span className="top-bar-brand">Slipway</span>
      <nav className="top-bar-tabs" aria-label="Screens">
        {tabs.map((tab) => (
          <button
            key={tab.screen}
            type="button"
            className={tab.screen === screen ? 'active' : ''}
            aria-current={tab.screen === screen ? 'page' : undefined}
            disabled={!enabled(tab.screen)}
            onClick={() => go(tab.screen)}
          >
            {tab.label}
          </button>
        ))}
      </nav>
      <span className="top-bar-info muted">
        {project ? <span title={project.path}>{project.name}</span> : null}
        {info ? <span>{info.mode === 'browser' ? 'browser mode' : 'desktop'}</span> : null}
      </span>
    </header>
  );
}

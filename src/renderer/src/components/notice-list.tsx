import { dismissNotice, useStore } from '../store/store';
import './notice-list.css';

/** Messages the window owes the user: errors stay until dismissed, confirmations fade. */
export function NoticeList() {
  const notices = useStore((state) => state.notices);
  if (notices.length === 0) return null;
  return (
    <div className="notice-list">
      {notices.map((notice) => (
        <div key={notice.id} className={`notice ${notice.tone}`} role={notice.tone === 'error' ? 'alert' : 'status'}>
          <span>{notice.text}</span>
          <button type="button" aria-label="Dismiss" onClick={() => dismissNotice(notice.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

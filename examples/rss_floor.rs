//! The memory floor of a dashboard: a tokio runtime as the dashboard builds it, crossterm's event
//! stream and a ratatui screen redrawn once a second, nothing else. `scripts/rss.sh` measures its
//! peak RSS beside the dashboard's, htop's and bottom's in the same run.
use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyCode};
use futures_util::StreamExt;
use ratatui::widgets::{Block, Paragraph};

fn main() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut terminal = ratatui::init();
        let mut events = EventStream::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut n = 0u64;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    n += 1;
                    terminal.draw(|f| {
                        let text = format!("floor: frame {n}");
                        f.render_widget(Paragraph::new(text).block(Block::bordered()), f.area());
                    })?;
                }
                Some(Ok(Event::Key(k))) = events.next() => {
                    if k.code == KeyCode::Char('q') { break; }
                }
            }
        }
        ratatui::restore();
        Ok(())
    })
}
